"""texc.compile: runs the texc compiler, with a cache keyed by content.

An entry lives in CACHE/<key>/<deps>/lib<prefix>.so, where key hashes the
compiler (its path, size and modification time), the options and the
source file's bytes, and deps hashes the bytes of every module the source
imported (texc --depfile names them; the list is kept in CACHE/<key>/deps).
So a second compile of unchanged files only reads and hashes them, and a
changed import gets a new path (a process never sees a stale .so: dlopen
returns an already-loaded library for a path it has seen).  Entries are
written to a temporary folder and renamed into place, so concurrent
compiles of the same model are safe."""
import hashlib
import os
import shutil
import subprocess
import tempfile

from ._module import Module


class CompileError(Exception):
    """texc rejected the program; the message is its caret diagnostics."""


def find_texc(texc=None):
    """The texc executable: the argument, $TEXC, the one installed with this
    package (make install: PREFIX/lib/pythonX/...-packages/texc beside
    PREFIX/bin/texc), the source tree's build/texc, or `texc` on PATH."""
    if texc:
        return texc
    if os.environ.get("TEXC"):
        return os.environ["TEXC"]
    here = os.path.dirname(os.path.abspath(__file__))
    for rel in (("..", "..", "..", "..", "bin", "texc"), ("..", "..", "build", "texc")):
        exe = os.path.normpath(os.path.join(here, *rel))
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return exe
    found = shutil.which("texc")
    if not found:
        raise FileNotFoundError("texc.compile: no texc executable (set $TEXC, pass texc=, or put texc on PATH)")
    return found


def cache_dir():
    d = os.environ.get("TEXC_CACHE_DIR")
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "texc")


def _file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_deps(path):
    """The files after the colon of a make rule written by --depfile."""
    with open(path) as f:
        text = f.read().replace("\\\n", " ")
    rule = text.split(": ", 1)[1] if ": " in text else ""
    names, cur, i = [], "", 0
    while i < len(rule):
        c = rule[i]
        if c == "\\" and i + 1 < len(rule):
            cur += rule[i + 1]
            i += 2
            continue
        if c == "$" and rule[i + 1:i + 2] == "$":
            cur += "$"
            i += 2
            continue
        if c.isspace():
            if cur:
                names.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        names.append(cur)
    return names[1:]  # the source itself is hashed into the key


def _deps_key(deps):
    h = hashlib.sha256()
    for d in deps:
        h.update(d.encode() + b"\0" + _file_hash(d).encode() + b"\0")
    return h.hexdigest()[:24]


def compile(source, grad=None, wrt=None, prefix=None, target="cpu", opt=2, cpu="host", options=(),
            texc=None, cache=True):
    """Compiles a .tex file and loads it.  grad: function names to export
    gradients of (NAME_grad / NAME_vjp); wrt: the parameters to differentiate
    against; options: more texc command-line options.  A second call with
    the same files and options loads the cached .so (cache=False: always
    compile, into a fresh temporary folder)."""
    if target != "cpu":
        raise ValueError("texc.compile: target %r is not available yet (only 'cpu')" % (target,))
    exe = find_texc(texc)
    source = os.path.abspath(source)
    if prefix is None:
        prefix = os.path.splitext(os.path.basename(source))[0]
    args = ["--prefix=" + prefix, "-O%d" % int(opt), "--cpu=" + cpu]
    if grad:
        args.append("--grad=" + (grad if isinstance(grad, str) else ",".join(grad)))
    if wrt:
        args.append("--wrt=" + (wrt if isinstance(wrt, str) else ",".join(wrt)))
    args += list(options)
    if not cache:
        out = tempfile.mkdtemp(prefix="texc-")
        return _build(exe, source, args, out, prefix)[0]
    st = os.stat(exe)
    key = hashlib.sha256("\0".join([os.path.realpath(exe), str(st.st_size), str(st.st_mtime_ns), source,
                                    _file_hash(source)] + args).encode()).hexdigest()[:24]
    entry = os.path.join(cache_dir(), key)
    deps_file = os.path.join(entry, "deps")
    try:
        with open(deps_file) as f:
            deps = [line.rstrip("\n") for line in f if line.strip()]
        so = os.path.join(entry, _deps_key(deps), "lib%s.so" % prefix)
        if os.path.exists(so):
            return Module(so, prefix)
    except OSError:
        pass
    os.makedirs(entry, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=entry)
    try:
        module_so, deps = _build(exe, source, args, tmp, prefix, load=False)
        final = os.path.join(entry, _deps_key(deps))
        try:
            os.rename(tmp, final)
        except OSError:  # another process put the same entry there first
            shutil.rmtree(tmp, ignore_errors=True)
        with open(deps_file + ".tmp%d" % os.getpid(), "w") as f:
            f.write("".join(d + "\n" for d in deps))
        os.replace(deps_file + ".tmp%d" % os.getpid(), deps_file)
        return Module(os.path.join(final, "lib%s.so" % prefix), prefix)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _build(exe, source, args, out, prefix, load=True):
    so = os.path.join(out, "lib%s.so" % prefix)
    depfile = os.path.join(out, "deps.d")
    r = subprocess.run([exe, source, "-o", so, "--depfile", depfile] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise CompileError(r.stderr.rstrip() or "texc exited with status %d" % r.returncode)
    deps = _read_deps(depfile)
    return (Module(so, prefix) if load else so), deps
