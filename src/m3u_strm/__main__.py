"""``python -m m3u_strm`` runs the CLI."""

from m3u_strm.cli.app import main

main()
