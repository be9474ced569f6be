"""python -m ecgcore.fuzz"""
from .run import main

raise SystemExit(main())
