import sys

from mqctl.cli import main

sys.exit(main())
