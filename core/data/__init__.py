"""Data sets: the built-in IMDB (`imdb`, loaded as Keras ships it), labelled text a user imports (`text_import`,
`text_table`, `text_source`), both encoded to word ids the Keras way (`vocab`, `word_index`) behind one loader
(`datasets`)."""
