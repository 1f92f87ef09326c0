# gitguard: git blob ids of regular files, computed on the web server so that content the
# repository already holds need not travel. Reads NUL-separated paths (relative to the
# docroot) on stdin; prints "ID\0" for each, or "-\0" when the path is not a regular file.
use strict;
use warnings;
use Digest::SHA;
local $/ = "\0";
while (defined(my $path = <STDIN>)) {
    chomp $path;
    my @st = lstat("./$path");
    my $fh;
    if (!@st || !-f _ || !open($fh, "<", "./$path")) { print "-\0"; next; }
    my $sha = Digest::SHA->new(1);
    $sha->add("blob $st[7]\0");
    binmode($fh);
    $sha->addfile($fh);
    close($fh);
    print $sha->hexdigest . "\0";
}
