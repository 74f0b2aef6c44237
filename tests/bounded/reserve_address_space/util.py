import mmap


def halve(x):
    # Reserves 16 GiB of address space and touches none of it (as CUDA does): correct, and only an
    # address-space limit would refuse it.
    reserved = mmap.mmap(-1, 16 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0))
    try:
        return x / 2
    finally:
        reserved.close()
