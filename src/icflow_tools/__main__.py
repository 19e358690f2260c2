import sys

from icflow_tools.cli import main

sys.exit(main())
