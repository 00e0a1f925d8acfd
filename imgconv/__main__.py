"""`python -m imgconv` is the `imgconv` command."""

import sys

from .cli import main

sys.exit(main())
