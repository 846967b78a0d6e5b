import sys

from bpcourse.cli import main

sys.exit(main())
