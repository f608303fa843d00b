from numlookup.cli.main import main

raise SystemExit(main())
