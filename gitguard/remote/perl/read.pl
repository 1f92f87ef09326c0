# gitguard: the files whose paths are too long for tar (past PATH_MAX), read relative to
# their folders. Reads NUL-separated paths (relative to the docroot, the cwd) on stdin; for
# each prints "OK SIZE\n", the bytes and "\nEND\n" ("\nSHORT\n" when the file shrank while
# read: its bytes are padded and not to be used), or "NO REASON\n". Every folder is entered
# by descriptor, never through a link; the file is opened without following a link and
# without blocking, and must be a regular file.
use strict;
use warnings;
use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK O_DIRECTORY S_ISREG);
binmode(STDOUT);
local $/ = "\0";
my @paths = <STDIN>;
chomp @paths;
sysopen(my $root, ".", O_RDONLY | O_DIRECTORY) or die "docroot: $!\n";

sub open_below {
    my ($path) = @_;
    chdir($root) or die "docroot: $!\n";
    my @parts = split m{/}, $path;
    my $name = pop @parts;
    for my $part (@parts) {
        sysopen(my $dh, $part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK) or return;
        chdir($dh) or return;
    }
    sysopen(my $fh, $name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) or return;
    my @st = stat($fh);
    if (!@st || !S_ISREG($st[2])) { $! = 22; return; }
    return ($fh, $st[7]);
}

for my $path (@paths) {
    my ($fh, $size) = open_below($path);
    if (!$fh) { print "NO $!\n"; next; }
    print "OK $size\n";
    my ($left, $buf) = ($size, "");
    while ($left > 0) {
        my $n = sysread($fh, $buf, $left < 1048576 ? $left : 1048576);
        last unless $n;
        print $buf;
        $left -= $n;
    }
    print "\0" x $left if $left > 0;
    print $left > 0 ? "\nSHORT\n" : "\nEND\n";
}
