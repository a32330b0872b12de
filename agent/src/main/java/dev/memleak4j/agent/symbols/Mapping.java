package dev.memleak4j.agent.symbols;

/**
 * One line of /proc/PID/maps.
 *
 * @param start    first address (inclusive)
 * @param end      end address (exclusive)
 * @param perms    e.g. {@code r-xp}
 * @param offset   file offset mapped at {@code start}
 * @param dev      device as {@code major:minor} in hex
 * @param inode    inode of the file, 0 for anonymous mappings
 * @param pathname as printed by the kernel: a path (possibly with spaces and a {@code " (deleted)"}
 *                 suffix), a pseudo name like {@code [heap]}, {@code [vdso]} or {@code [anon:name]},
 *                 or empty for an anonymous mapping
 */
public record Mapping(long start, long end, String perms, long offset, String dev, long inode, String pathname) {

    private static final String DELETED_SUFFIX = " (deleted)";

    /** True when {@code address} lies in [start, end); addresses compare unsigned, as [vsyscall] is above 2^63. */
    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
    }

    /** True for mappings of a file (the pathname is absolute), deleted or not. */
    public boolean isFile() {
        return pathname.startsWith("/");
    }

    /** True when the mapped file has been unlinked or replaced since it was mapped. */
    public boolean isDeleted() {
        return isFile() && pathname.endsWith(DELETED_SUFFIX);
    }

    /** The file's path without the {@code " (deleted)"} marker; null for non-file mappings. */
    public String filePath() {
        if (!isFile()) {
            return null;
        }
        return isDeleted() ? pathname.substring(0, pathname.length() - DELETED_SUFFIX.length()) : pathname;
    }

    /** File name for file mappings, the pseudo name (e.g. {@code [vdso]}) otherwise, null when anonymous. */
    public String moduleName() {
        if (isFile()) {
            String path = filePath();
            return path.substring(path.lastIndexOf('/') + 1);
        }
        return pathname.isEmpty() ? null : pathname;
    }

    /** Offset into the mapped file of the byte at {@code address}. */
    public long fileOffsetOf(long address) {
        return address - start + offset;
    }
}
