"""The interfaces people use: the `kantkg` command (main), Datasette (serve and its
plugin), and `kantkg doctor`."""
