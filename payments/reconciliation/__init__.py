"""Bank statement import and reconciliation.

``parsing`` (bytes in, ``ParsedLine`` out, nothing written), ``matching`` (suggest a loan for
each credit), ``services`` (store lines, confirm, re-match or ignore them: every write),
``selectors`` (lines and totals), and the back-office ``forms``, ``views`` and ``urls``.
Nothing is ever posted automatically: a suggestion becomes a repayment only when finance
confirms it.
"""
