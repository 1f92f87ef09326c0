# gitguard: git blob ids of regular files, computed on the web server so that content the
# repository already holds need not travel. Reads NUL-separated paths (relative to the
# docroot) on stdin; prints "ID\0" for each, in the same order, or "-\0" when the path is
# not a regular file (a link is never followed). The first argument is how many processes
# may hash at once: a whole site is 1 GB or more, and one SHA-1 stream takes seconds.
use strict;
use warnings;
use Digest::SHA;
use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK S_ISREG);
local $/ = "\0";
my $workers = ($ARGV[0] // 1) =~ /\A[0-9]+\z/ ? $ARGV[0] : 1;
$workers = 4 if $workers > 4;    # a web server still serving: never all of a big one's cores
my @paths = <STDIN>;
chomp @paths;

# Opened without following a link and without blocking (a path swapped for a FIFO must not
# hang the run), then proved by fstat to be the regular file lstat saw.
sub blob_id {
    my ($path) = @_;
    my @seen = lstat("./$path");
    my $fh;
    return "-" if !@seen || !-f _ || !sysopen($fh, "./$path", O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    my @st = stat($fh);
    return "-" unless @st && S_ISREG($st[2]) && $st[0] == $seen[0] && $st[1] == $seen[1];
    my $sha = Digest::SHA->new(1);
    $sha->add("blob $st[7]\0");
    binmode($fh);
    $sha->addfile($fh);
    close($fh);
    return $sha->hexdigest;
}

$workers = 1 if @paths < 64 * $workers;    # forking is not worth it for a few files
if ($workers <= 1) {
    print blob_id($_) . "\0" for @paths;
    exit 0;
}
# Worker k hashes paths k, k + n, k + 2n, ... (big and small files spread evenly), and
# writes its ids when done; they are read back in worker order and printed in input order.
my @readers;
for my $k (0 .. $workers - 1) {
    pipe(my $reader, my $writer) or die "pipe: $!\n";
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        close $reader;
        my @ids;
        for (my $i = $k; $i < @paths; $i += $workers) { push @ids, blob_id($paths[$i]); }
        print {$writer} join("\0", @ids) . "\0";
        close $writer or exit 1;
        exit 0;
    }
    close $writer;
    push @readers, [$pid, $reader];
}
my @ids;
for my $k (0 .. $workers - 1) {
    my ($pid, $reader) = @{ $readers[$k] };
    my @got = <$reader>;
    chomp @got;
    waitpid($pid, 0);
    die "worker $k failed\n" if $? != 0;
    my $i = $k;
    for my $id (@got) { $ids[$i] = $id; $i += $workers; }
}
die "lost ids\n" if grep { !defined } @ids[0 .. $#paths];
print "$_\0" for @ids[0 .. $#paths];
