"""The one rule that says when two userNames (or two group names) are the same name.

    user_name_key(value) -> str     the form stored in EndUser.user_name_key and compared
                                    by every lookup, uniqueness check and userName filter
    display_name_key(value) -> str  the same rule for Group.display_name_key

Python's lower() and the database's LOWER() disagree on letters such as `İ`, `Σ`/`ς`,
`ß`, ligatures (`ﬁ`) and full-width forms, and SQLite's LOWER() folds ASCII only, so a
rule split between the two let one side find a user the other did not (a 409 on a
create that no lookup could explain). The rule is therefore computed here, in Python,
once per write, and the database only compares the stored keys.

The key is NFKC, then Unicode full case folding (casefold: `ß` -> `ss`, `ς` -> `σ`),
then NFKC again: case folding can leave a string that is no longer normalised (it may
decompose, as `İ` -> `i` + U+0307), and the key must be its own key,
user_name_key(user_name_key(x)) == user_name_key(x), because lookups are sometimes
handed a value that is already a key (directory.prepared binds it unchanged). One
round is idempotent for every single code point (checked over all of them); for
sequences the round is repeated until nothing changes, as a guard, and the tests check
idempotence over generated text.
"""

from __future__ import annotations

import unicodedata

# The longest key stored: NFKC and case folding can lengthen a name (`ﬃ` -> `ffi`,
# U+FDFA -> 18 letters), and a Postgres btree entry must stay under 2,704 bytes.
USER_NAME_KEY_MAX_LENGTH = 600


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def user_name_key(value: str) -> str:
    """The case- and compatibility-insensitive form of a userName.

    Two userNames of one org are the same name exactly when their keys are equal.
    Idempotent: the key of a key is the key itself."""
    key = _fold(value)
    # A guard for sequences whose recomposition folds again; no such input is known.
    for _ in range(3):
        again = _fold(key)
        if again == key:
            break
        key = again
    return key


# Groups' displayName follows the same rule (and so the same column length).
display_name_key = user_name_key
