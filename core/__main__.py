from core.cli import interrupt, main

with interrupt.ctrl_c_until_caught():
    code = main()
raise SystemExit(code)
