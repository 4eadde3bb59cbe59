"""Test games and tree comparisons.

Content is deterministic: the same (seed, path, size) always gives the same bytes, so two
hosts can be given the same game without shipping bytes around, and a failure reproduces."""
import fnmatch
import hashlib
import os
import random

CHUNK = 2 << 20  # the chunk size a scan gives a game (the protocol's default)


def deterministic_bytes(size, seed=0):
    """`size` pseudo-random bytes determined by `seed` (any hashable text or number)."""
    return random.Random(str(seed)).randbytes(size)


def write_file(path, data):
    """Writes str or bytes to path, creating parent directories."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def make_game(games_dir, game_id="openarena", version="1", files=None, seed=0):
    """Creates (or overwrites) a downloaded game: payload files first, then version.ini, the
    sentinel that makes the game complete. files: {relative path: size in bytes (generated
    from seed and path) | bytes | str}; default one 1 MiB file data/pak0.pk3. Returns the
    game's root directory."""
    root = os.path.join(games_dir, game_id)
    if files is None:
        files = {"data/pak0.pk3": 1 << 20}
    for rel, content in files.items():
        if isinstance(content, int):
            content = deterministic_bytes(content, f"{seed}:{rel}")
        write_file(os.path.join(root, rel), content)
    write_file(os.path.join(root, "version.ini"), f"{version}\n")
    return root


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _walk(root, ignore):
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in ignore):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                entries[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                entries[rel] = ("dir", None)
            else:
                entries[rel] = ("file", os.path.getsize(full))
    return entries


def tree_differences(a, b, ignore=(".lanspread*",)):
    """Differences between two directory trees, compared byte for byte: a list of readable
    lines, empty when they are identical. `ignore`: glob patterns of names or paths."""
    ea, eb = _walk(a, ignore), _walk(b, ignore)
    diffs = [f"only in {a}: {p}" for p in sorted(set(ea) - set(eb))]
    diffs += [f"only in {b}: {p}" for p in sorted(set(eb) - set(ea))]
    for p in sorted(set(ea) & set(eb)):
        if ea[p] != eb[p]:
            diffs.append(f"{p}: {ea[p]} vs {eb[p]}")
        elif ea[p][0] == "file" and not _same_bytes(os.path.join(a, p), os.path.join(b, p)):
            diffs.append(f"{p}: same size, different bytes")
    return diffs


def _same_bytes(x, y):
    with open(x, "rb") as fx, open(y, "rb") as fy:
        while True:
            bx, by = fx.read(1 << 20), fy.read(1 << 20)
            if bx != by:
                return False
            if not bx:
                return True


def assert_same_tree(a, b, ignore=(".lanspread*",)):
    """Raises AssertionError listing the differences unless the trees are identical."""
    diffs = tree_differences(a, b, ignore)
    if diffs:
        shown = "\n  ".join(diffs[:20])
        more = f"\n  ... and {len(diffs) - 20} more" if len(diffs) > 20 else ""
        raise AssertionError(f"{a} and {b} differ:\n  {shown}{more}")
