"""Text from outside riesz in generated code: names, file names, the user's lines,
docstrings and the reprs of values riesz did not make.

It reaches generated code only through these functions: escaped (comments,
docstrings), coerced to a built-in type (the literal of an int, float or str subclass,
in :meth:`riesz.staging.printing.Context.literal`) or replaced (a name that is not
one). Names are NFKC-normalised first, as Python's parser reads them, so that two
spellings of one name ('ﬁ' and 'fi', 'µ' and 'μ') are one name when collisions are
checked.
"""
import keyword
import unicodedata

__all__ = ["comment_text", "docstring", "python_name", "dotted_path"]


def comment_text(text):
    """``text`` for a ``#`` comment: every character that is not printable (a line break
    would end the comment) written as its escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str.__str__(text))


def docstring(text):
    """``text`` as a one-line docstring literal."""
    return '"""' + comment_text(str.__str__(text).replace("\\", "\\\\").replace('"', '\\"')) + '"""'


def python_name(text, fallback="v"):
    """``text`` as a Python name (NFKC-normalised, as the parser reads names, so that two
    spellings of one name are one name: 'ﬁ' is 'fi'); ``fallback`` where it is none."""
    name = unicodedata.normalize("NFKC", str.__str__(text)) if isinstance(text, str) else ""
    return name if name.isidentifier() and not keyword.iskeyword(name) else fallback


def dotted_path(text):
    """``text`` when it is a dotted path of Python names (``scipy.special``), else None."""
    text = str.__str__(text) if isinstance(text, str) else ""
    return text if all(python_name(p, None) == p for p in text.split(".")) else None
