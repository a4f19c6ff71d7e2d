"""English: request templates, slot values, lexicon and number words."""
