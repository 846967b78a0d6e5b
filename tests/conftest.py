import sys
from pathlib import Path

# The tests import their helpers (reference implementations) as plain modules.
sys.path.insert(0, str(Path(__file__).parent))
