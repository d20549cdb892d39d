import { backendReason } from '../model/backends';

describe('backendReason', () => {
  const backends = [
    { name: 'local', enabled: true, reason: null },
    {
      name: 'kfp',
      enabled: false,
      reason:
        'no Kubeflow Pipelines backend is configured (no KFP host); set c.KfpRunner.host'
    }
  ];

  it('is null for an enabled backend', () => {
    expect(backendReason(backends, 'local')).toBeNull();
  });

  it("is the server's reason for a disabled one", () => {
    expect(backendReason(backends, 'kfp')).toBe(
      'no Kubeflow Pipelines backend is configured (no KFP host); set c.KfpRunner.host'
    );
  });

  it('says so when the server has no such backend', () => {
    expect(backendReason([], 'kfp')).toMatch(/has no kfp backend/);
  });
});
