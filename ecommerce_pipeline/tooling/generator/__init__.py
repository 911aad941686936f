"""Synthetic online store: deterministic, vectorised landing files for every entity of the contract.

A day is drawn from ``np.random.default_rng((seed, day ordinal))`` and the store carried over from the
day before (the customer and product pools), so a date range is reproducible byte for byte and no day
depends on the clock. The first day ships the whole catalog and customer base; later days ship only
new and changed records. Orders follow a weekly rhythm, customers are Pareto-loyal, products
Zipf-popular, and every order has a click-stream session that ends in its purchase. Defects are
injected last, from their own stream, so a defective store is the clean store plus counted defects.

``store`` draws the days and writes the files, from ``products``, ``customers``, ``orders`` and ``events``
(each an entity's pool or day and its landing table), ``defects`` and ``writers``; ``vocabulary`` holds the
word lists and weights, ``arrays`` the vectorised helpers they share.
"""

from ecommerce_pipeline.tooling.generator.defects import DEFECT_KINDS
from ecommerce_pipeline.tooling.generator.store import GenerationSummary, StoreState, generate_day, generate_store
from ecommerce_pipeline.tooling.generator.writers import FILE_FORMATS

__all__ = ["DEFECT_KINDS", "FILE_FORMATS", "GenerationSummary", "StoreState", "generate_day", "generate_store"]
