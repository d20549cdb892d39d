/**
 * Pipeline parameters (editable before a run) and the deploy button with its backend menu. Run locally is the default;
 * other backends are listed, disabled, with the reason.
 */
import React, { useEffect, useRef, useState } from 'react';

import { parseParameterValue } from '../model/parameters';

export interface IBackendEntry {
  id: string;
  label: string;
  /** null when available, else why not. */
  disabledReason: string | null;
}

export function ParametersForm(props: {
  defaults: Record<string, unknown>;
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
}): JSX.Element | null {
  const names = Object.keys(props.defaults);
  if (names.length === 0) {
    return null;
  }
  return (
    <fieldset className="jp-Kale-params" data-testid="kale-parameters">
      <legend>Pipeline parameters</legend>
      {names.map(name => {
        const def = props.defaults[name];
        const value = props.values[name] ?? formatValue(def);
        const parsed = parseParameterValue(value, def);
        return (
          <label key={name} className="jp-Kale-param">
            <span className="jp-Kale-paramName" title={name}>
              {name}
            </span>
            <input
              className="jp-mod-styled"
              value={value}
              aria-invalid={!parsed.ok}
              title={parsed.ok ? `default: ${formatValue(def)}` : parsed.error}
              onChange={ev => props.onChange(name, ev.target.value)}
            />
            {!parsed.ok && (
              <span className="jp-Kale-fieldError">{parsed.error}</span>
            )}
          </label>
        );
      })}
    </fieldset>
  );
}

export function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function DeployButton(props: {
  backends: IBackendEntry[];
  busy: boolean;
  disabledReason: string | null;
  onDeploy: (backend: string) => void;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const menuRef = useRef<HTMLUListElement>(null);
  const primary = props.backends[0];
  useEffect(() => {
    if (open) {
      menuRef.current
        ?.querySelector<HTMLElement>(
          '[role="menuitem"]:not([aria-disabled="true"])'
        )
        ?.focus();
    }
  }, [open]);
  const onMenuKey = (ev: React.KeyboardEvent) => {
    const items = Array.from(
      menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []
    );
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (ev.key === 'Escape') {
      setOpen(false);
    } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const delta = ev.key === 'ArrowDown' ? 1 : -1;
      items[(i + delta + items.length) % items.length]?.focus();
    }
  };
  const disabled = props.busy || props.disabledReason !== null;
  return (
    <div className="jp-Kale-deploy">
      <button
        className="jp-mod-styled jp-mod-accept jp-Kale-deployMain"
        disabled={disabled || primary.disabledReason !== null}
        title={props.disabledReason ?? primary.disabledReason ?? undefined}
        onClick={() => props.onDeploy(primary.id)}
      >
        {props.busy ? 'Starting…' : primary.label}
      </button>
      <button
        className="jp-mod-styled jp-mod-accept jp-Kale-deployMenuButton"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Deploy to…"
        onClick={() => setOpen(!open)}
      >
        ▾
      </button>
      {open && (
        <ul
          className="jp-Kale-menu"
          role="menu"
          ref={menuRef}
          onKeyDown={onMenuKey}
          onBlur={ev => {
            if (!ev.currentTarget.contains(ev.relatedTarget as Node)) {
              setOpen(false);
            }
          }}
        >
          {props.backends.map(b => {
            const reason = b.disabledReason ?? props.disabledReason;
            return (
              <li
                key={b.id}
                role="menuitem"
                tabIndex={-1}
                aria-disabled={reason !== null}
                className={reason ? 'jp-mod-disabled' : ''}
                onClick={() => {
                  if (!reason) {
                    setOpen(false);
                    props.onDeploy(b.id);
                  }
                }}
                onKeyDown={ev => {
                  if ((ev.key === 'Enter' || ev.key === ' ') && !reason) {
                    ev.preventDefault();
                    setOpen(false);
                    props.onDeploy(b.id);
                  }
                }}
              >
                <span className="jp-Kale-menuLabel">{b.label}</span>
                {reason && <span className="jp-Kale-menuReason">{reason}</span>}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
