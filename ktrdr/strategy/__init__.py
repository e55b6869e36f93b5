"""Strategy schema, the one validator, load/save and the indicator and membership catalogues."""
