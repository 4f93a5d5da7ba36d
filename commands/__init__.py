"""The human verbs: one grammar, one module per verb, permissions and rendering."""
