"""Build the compiled kernels of imgconv.

The kernel source (imgconv/_conv_kernel.pxi) is compiled once per instruction
set -- a baseline build for any CPU of the architecture, plus AVX2+FMA and
AVX-512F builds on x86-64 -- and imgconv picks the best one the running CPU
supports at import time.  No build uses -march=native, so a wheel built here runs
on older CPUs too.

OpenMP is detected by compiling a tiny program with the compiler setuptools
chose.  Without it the build still succeeds, with a warning, and the kernels run
serially.

Environment variables
---------------------
IMGCONV_CYTHON_DEBUG=1   turn bounds/wraparound/initialisation checks back on.
IMGCONV_DISABLE_OPENMP=1 build without OpenMP even if the compiler has it.
"""

import os
import platform
import sys
import tempfile
import textwrap
import warnings

import numpy

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")

# Instruction-set flags per compiler family; "baseline" gets none.
SIMD_FLAGS = {
    "unix": {"avx2": ["-mavx2", "-mfma"], "avx512": ["-mavx512f", "-mavx2", "-mfma"]},
    "msvc": {"avx2": ["/arch:AVX2"], "avx512": ["/arch:AVX512"]},
}
TARGETS = ["baseline"] + (["avx2", "avx512"] if X86 else [])

OPENMP_TEST = textwrap.dedent("""
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
""")
SIMD_TEST = "int main(void) { float x[16] = {0}; return (int)x[0]; }\n"


def _openmp_flags(compiler_type):
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":  # Apple clang needs the flag passed through to the preprocessor
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


class BuildExt(build_ext):
    """build_ext that probes OpenMP and SIMD flags before compiling."""

    def _compiles(self, source, compile_args, link_args=(), link=True):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(source)
            try:
                objects = self.compiler.compile([src], output_dir=tmp, extra_postargs=list(compile_args))
                if link:
                    self.compiler.link_executable(objects, "probe", output_dir=tmp,
                                                  extra_postargs=list(link_args))
            except Exception:
                return False
        return True

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        family = "msvc" if ctype == "msvc" else "unix"
        # -fno-math-errno: sqrtf without errno (same results) vectorises the element-wise feature loops
        base_args = ["/O2"] if family == "msvc" else ["-O3", "-ffp-contract=fast", "-fno-math-errno"]
        if family != "msvc" and os.environ.get("IMGCONV_CYTHON_DEBUG", "") not in ("1", "true", "yes"):
            base_args.append("-g0")  # no debug info in release builds: 2.4 MB -> about 0.5 MB per kernel

        omp_compile, omp_link = _openmp_flags(ctype)
        use_openmp = os.environ.get("IMGCONV_DISABLE_OPENMP", "") not in ("1", "true", "yes")
        if use_openmp and not self._compiles(OPENMP_TEST, omp_compile, omp_link):
            warnings.warn("imgconv: this compiler does not support OpenMP; building the kernels without it. "
                          "They will run serially (one thread).")
            use_openmp = False
        if not use_openmp:
            omp_compile, omp_link = [], []

        kept = []
        for ext in self.extensions:
            target = ext.name.rsplit("_conv_", 1)[-1].removesuffix("_cy")
            simd = SIMD_FLAGS[family].get(target, [])
            if simd and not self._compiles(SIMD_TEST, simd, link=False):
                warnings.warn(f"imgconv: the compiler does not accept {simd}; skipping the {target} kernels.")
                continue
            ext.extra_compile_args = base_args + simd + omp_compile
            ext.extra_link_args = omp_link
            kept.append(ext)
        self.extensions = kept
        super().build_extensions()


def _extensions():
    debug = os.environ.get("IMGCONV_CYTHON_DEBUG", "") in ("1", "true", "yes")
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": not debug,
    }
    # The kernel source and its C headers: a change to any of them rebuilds every target.
    depends = ["imgconv/_conv_kernel.pxi", "imgconv/_microkernel.h", "imgconv/_microkernel_tile.h",
               "imgconv/_openmp_shim.h", "imgconv/_paired.h", "imgconv/_pointwise.h",
               "imgconv/_no_contract.h"]
    extensions = [
        # numpy's C API: correlate_nchw reads its arrays' pointers and sizes directly (see _array there).
        Extension(f"imgconv._conv_{target}_cy", [f"imgconv/_conv_{target}_cy.pyx"],
                  include_dirs=["imgconv", numpy.get_include()],
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")], depends=depends)
        for target in TARGETS
    ]
    return cythonize(extensions, compiler_directives=directives)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
