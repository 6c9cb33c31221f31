from crosspost.cli import main

raise SystemExit(main())
