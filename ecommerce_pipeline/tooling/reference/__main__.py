"""Child process of the benchmark: ``python -m ecommerce_pipeline.tooling.reference KIND LANDING DAY OUT``."""

import sys
from datetime import date
from pathlib import Path

from ecommerce_pipeline.tooling.reference import gold_only, same_work

KINDS = {"gold_only": gold_only.run, "same_work": same_work.run}

if __name__ == "__main__":
    kind, landing, day, out = sys.argv[1:5]
    KINDS[kind](Path(landing), date.fromisoformat(day), Path(out))
