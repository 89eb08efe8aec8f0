#!/usr/bin/env python3
"""Write docs/hsmca.conf.5 from the key table in common/config.c.

Run after adding or changing a configuration key; tests/cli/test_conf_man.sh
fails when a key that hsmca writes into hsmca.conf is missing from the page.
"""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "common" / "config.c").read_text()
table = src[src.index("cfg_table[] = {"):src.index("#define CFG_NKEYS")]
row = re.compile(
    r'\{\s*"([^"]+)",\s*CFG_(\w+),\s*(NULL|"(?:[^"\\]|\\.)*"),\s*'
    r'([^,]+),\s*([^,]+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\}', re.S)


def cstr(s):
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', s)
    return "".join(parts).replace('\\"', '"').replace("\\\\", "\\")


def roff(s):
    s = s.replace("\\", "\\e")
    return "\n".join(("\\&" + l if l.startswith((".", "'")) else l)
                     for l in s.split("\n"))


out = [
    '.TH HSMCA.CONF 5 "" "hsmca" "File Formats"',
    ".SH NAME",
    "hsmca.conf \\- configuration of the hsmca certificate authority",
    ".SH DESCRIPTION",
    "An INI file in the state directory, written by",
    ".BR \"hsmca init\" ;",
    "read by",
    ".BR hsmca (1)",
    "and",
    ".BR hsmcad (8).",
    "Each key is",
    ".I section.name",
    "and may also be given on the command line as",
    ".BI \"--set \" section.name = value\\fR,",
    "which wins over the file.",
    "Every key has a default; relative paths are relative to the state",
    "directory.  An unknown key, a value of the wrong type or out of range,",
    "or an empty path is an error that names the key.",
    "In key names,",
    ".B *",
    "stands for a profile name (letters, digits,",
    ".BR - ,",
    ".BR _ ).",
]
section = None
for m in row.finditer(table):
    key, typ, default, lo, hi, doc = m.groups()
    sec = key.rsplit(".", 1)[0]
    if sec.split(".")[0] != section:
        section = sec.split(".")[0]
        out += [".SH \"[%s]\"" % section.upper(), ""]
        out[-1:] = []
    kind = {"STR": "string", "INT": "integer", "BOOL": "true or false",
            "PATH": "path"}[typ]
    if typ == "INT":
        kind += " %s..%s" % (lo.strip(), hi.strip().replace(" ", ""))
    dflt = "none" if default == "NULL" else ('"%s"' % cstr(default)
                                              if cstr(default) == "" else
                                              cstr(default))
    out += [".TP", ".B %s" % key,
            roff(cstr(doc)) + ".",
            "Type: %s; default: %s." % (kind, roff(dflt))]
out += [".SH FILES",
        ".I STATE/hsmca.conf",
        ".SH SEE ALSO",
        ".BR hsmca (1),",
        ".BR hsmcad (8)"]
(root / "docs" / "hsmca.conf.5").write_text("\n".join(out) + "\n")
