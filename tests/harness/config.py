"""Paths given on the command line (see case.main): the programs under test."""
import os

_tools = {}


def set_tool(name, path):
    _tools[name] = os.path.abspath(path)


def tool(name="lanspread"):
    """The path of a program under test given with --tool (lanspread) or --tool NAME=PATH."""
    if name not in _tools:
        env = os.environ.get(f"LANSPREAD_TEST_{name.upper()}")
        if env:
            return os.path.abspath(env)
        raise RuntimeError(f"no path for {name}: pass --tool {name}=PATH "
                           f"(or --tool PATH for lanspread)")
    return _tools[name]
