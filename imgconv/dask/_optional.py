"""Optional dependencies of imgconv.dask: the install hint and a helper that imports them."""

_INSTALL_HINT = 'pip install "imgconv[dask]"'


def _require(module):
    """Import an optional dependency or raise an ImportError that says how to install it."""
    try:
        if module == "distributed":
            import distributed

            return distributed
        if module == "zarr":
            import zarr

            return zarr
        raise AssertionError(module)  # pragma: no cover - internal misuse
    except ImportError as exc:
        raise ImportError(
            f"imgconv.dask needs the optional dependency {module!r} for this function ({exc}). "
            f"Install it with: {_INSTALL_HINT}"
        ) from exc
