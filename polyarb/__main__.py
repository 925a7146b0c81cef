import sys

from polyarb.cli import main

sys.exit(main())
