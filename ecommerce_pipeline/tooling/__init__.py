"""Demo and tooling around the pipeline, never imported by it: the demo store generator, the benchmark and
the importers of public datasets (Olist, REES46). They write landing files; the pipeline reads them as it
reads any store's."""
