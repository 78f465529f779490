"""The package itself: version, library loading, errors, ABI layouts."""

import ctypes
import os
import re
import subprocess
import sys

import pytest

import gpupager
from gpupager import _lib, errors

from conftest import ROOT


def header():
    with open(os.path.join(ROOT, "include", "gpupager.h")) as f:
        return f.read()


def test_package_version_is_the_headers():
    m = re.search(r'#define GP_VERSION_STRING "([^"]+)"', header())
    assert gpupager.__version__ == m.group(1)
    assert gpupager.version() == m.group(1)  # the loaded library's


def test_library_path_is_the_one_asked_for():
    assert os.path.samefile(gpupager.library_path(), os.environ["GPUPAGER_LIB"])


def run_py(code, **env):
    e = dict(os.environ, **env)
    e["PYTHONPATH"] = os.path.join(ROOT, "python")
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)


def test_missing_library_is_a_clear_error():
    r = run_py("import gpupager\n"
               "try:\n    gpupager.Pager()\n"
               "except gpupager.LibraryNotFound as e:\n    print('ERR', e)\n",
               GPUPAGER_LIB="/nonexistent/libgpupager.so")
    assert r.returncode == 0, r.stderr
    assert "ERR libgpupager not found" in r.stdout
    assert "/nonexistent/libgpupager.so: no such file" in r.stdout
    assert "GPUPAGER_LIB" in r.stdout


def test_import_needs_no_library():
    r = run_py("import gpupager, comfyui_gpupager; print('ok')", GPUPAGER_LIB="/nonexistent.so")
    assert r.stdout.strip() == "ok", r.stderr


def test_version_mismatch_names_both_versions():
    with pytest.raises(gpupager.LibraryVersionMismatch) as ei:
        _lib.load(expected=(0 << 16) | (9 << 8) | 1)
    msg = str(ei.value)
    assert "gpupager package 0.9.1" in msg and gpupager.version() in msg
    # the failed check did not replace the good handle
    assert gpupager.version() == gpupager.__version__


def test_every_error_code_has_its_class():
    lib = _lib.lib()
    codes = dict(re.findall(r"X\((GP_E[A-Z]+),\s*(-\d+)", header()))
    assert {k: int(v) for k, v in codes.items()} == {k: v for k, v in _lib.ERROR_CODES.items()
                                                   if v}
    for name, code in codes.items():
        code = int(code)
        assert lib.gp_error_name(code).decode() == name
        cls = errors.BY_CODE[code]
        assert cls.code == code and cls.name == name and issubclass(cls, gpupager.Error)


def test_errors_carry_the_library_message(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x40\x00\x00\x00\x00\x00\x00\x00{}  ")  # header runs past the end
    with pytest.raises(gpupager.FormatError) as ei:
        gpupager.describe(bad)
    assert str(ei.value) == ("bad.safetensors: header length 64 runs past the end of the "
                             "file (12 bytes)")
    assert ei.value.code == -5 and ei.value.name == "GP_EFORMAT"
    with pytest.raises(gpupager.NotFound) as ei:
        gpupager.describe(tmp_path / "none.safetensors")
    assert "none.safetensors" in str(ei.value)
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid range: '5-3'$"):
        gpupager.parse_ranges("1,5-3")
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid integer: 'x'$"):
        gpupager.parse_ranges("x")
    with pytest.raises(gpupager.InvalidArgument, match=r"^Invalid integer: ''$"):
        gpupager.parse_ranges("1,,2")
    assert gpupager.parse_ranges("9-11, 0-5,7,3") == [(0, 5), (7, 7), (9, 11)]
    assert gpupager.parse_size("512M") == 512 << 20
    assert gpupager.parse_budget("40%") == (0, 40.0)
    with pytest.raises(gpupager.Error):
        gpupager.parse_size("12Q")


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory):
    exe = tmp_path_factory.mktemp("abi") / "abi_layout"
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=gnu11", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "tests", "python", "abi_layout.c"), "-o", str(exe)],
                   check=True)
    out = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        s, f, n = line.split()
        out.setdefault(s, {})[f] = int(n)
    return out


def test_ctypes_structs_match_the_header(c_layout):
    assert set(c_layout) == set(_lib.STRUCTS)
    for cname, cls in _lib.STRUCTS.items():
        c = c_layout[cname]
        assert ctypes.sizeof(cls) == c["-"], cname
        py = {f: getattr(cls, f).offset for f, _ in cls._fields_}
        assert py == {k: v for k, v in c.items() if k != "-"}, cname


def test_library_fills_exactly_the_ctypes_sizes(wan):
    """struct_size comes back as what the library filled: with a larger
    buffer that is the library's own sizeof, which must be ours."""
    lib = _lib.lib()
    with gpupager.Pager(vram_budget="32M", host_budget="128M") as p:
        m = p.open_model(wan)
        for cls, call in ((_lib.TensorInfo, lambda b: lib.gp_model_tensor_at(m._h, 0, b)),
                          (_lib.GroupInfo, lambda b: lib.gp_model_group_info(m._h, 0, b)),
                          (_lib.PagerStats, lambda b: lib.gp_pager_get_stats(p._h, b)),
                          (_lib.PagerInfo, lambda b: lib.gp_pager_info(p._h, b))):
            buf = (ctypes.c_char * (ctypes.sizeof(cls) + 64))()
            s = cls.from_buffer(buf)
            s.struct_size = ctypes.sizeof(buf)
            assert call(ctypes.byref(s)) >= 0, gpupager.errors.last_error()
            assert s.struct_size == ctypes.sizeof(cls), cls.__name__
        # a struct_size of 0 is refused, naming struct_size
        ti = _lib.TensorInfo()
        assert lib.gp_model_tensor_at(m._h, 0, ctypes.byref(ti)) == -1
        assert "struct_size" in gpupager.errors.last_error()


def test_checksum_matches_the_c_function():
    data = bytes(range(256)) * 3
    assert gpupager.checksum(data) == _lib.lib().gp_checksum(data, len(data))
    a, b = data[:64], data[64:]
    assert (gpupager.checksum(a) + gpupager.checksum(b, 64)) % (1 << 64) == gpupager.checksum(data)
