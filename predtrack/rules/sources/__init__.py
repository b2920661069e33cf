"""One module per source a rule reads: file formats here, tracker stores beside them (see rules.base)."""
