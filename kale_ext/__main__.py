"""`python -m kale_ext` is `kale-ext`."""

import sys

from .cli import main

sys.exit(main())
