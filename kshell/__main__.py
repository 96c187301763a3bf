import sys

from kshell.cli import main

sys.exit(main())
