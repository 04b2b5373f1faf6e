"""Check: AST → checked program (names resolved, types and parameter rules enforced).

Input: `gencode.ast.Program` (plus includes, read from disk, and `--set` overrides).
Output: `gencode.ir.CheckedProgram`, or `GenError` carrying every error found.
"""

from gencode.check.program import check, check_file, check_text

__all__ = ["check", "check_file", "check_text"]
