# gitguard restore, run on the web server by `perl -e` in the docroot.
# Reads steps from stdin, NUL-separated: OP, PATH, ARG. OP is R (remove, never following a
# link), D (mkdir; ARG "mode uid gid"), M (move the file or link staged as STAGE/NAME into
# place; ARG "mode uid gid NAME"), C (chmod/chown; ARG "mode uid gid"), K (copy the file
# staged as STAGE/FROM to STAGE/NAME, for PATH; ARG "NAME FROM": content that several paths
# share travels once; the K steps come first, and run in up to WORKERS processes). The
# staging folder is flat: NAME and FROM are hex numbers. A path is touched only after every
# folder on its way proved, by lstat, to be a real folder. Prints "PATH\0REASON\0" for each
# step that failed, then removes the staging folder.
# Arguments: STAGE (the staging folder), WORKERS (how many processes may copy at once).
use strict;
use warnings;
use Errno qw(EXDEV);
use IO::Handle;
use Fcntl qw(O_RDONLY O_WRONLY O_CREAT O_EXCL O_NOFOLLOW);
my $stage = shift @ARGV;
my $workers = ($ARGV[0] // 1) =~ /\A[0-9]+\z/ ? $ARGV[0] : 1;
$workers = 4 if $workers > 4;    # a web server still serving: never all of a big one's cores
my %safe;
local $/ = "\0";

sub safe_parent {
    my ($path) = @_;
    my @parts = split m{/}, $path;
    pop @parts;
    my $dir = ".";
    for my $part (@parts) {
        $dir .= "/$part";
        next if $safe{$dir};
        my @st = lstat($dir);
        return 0 unless @st && -d _;
        $safe{$dir} = 1;
    }
    return 1;
}

# Remove a path and, for a folder, everything in it; the folders proved real there are
# forgotten (once: a check per folder removed made emptying the staging folder quadratic).
sub remove_tree {
    my ($path) = @_;
    my $ok = remove_below($path);
    delete @safe{ grep { $_ eq $path || index($_, "$path/") == 0 } keys %safe };
    return $ok;
}

sub remove_below {
    my ($path) = @_;
    my @st = lstat($path);
    return 1 unless @st;
    if (-d _) {
        # The attacker's chmod 555 must not keep their files: open it up, it goes anyway.
        chmod(0700, $path) if ($st[2] & 0700) != 0700;
        opendir(my $dh, $path) or return 0;
        my @names = grep { $_ ne "." && $_ ne ".." } readdir($dh);
        closedir($dh);
        for my $name (@names) { remove_below("$path/$name") or return 0; }
        return rmdir($path);
    }
    return unlink($path);
}

sub owner {
    my ($path, $uid, $gid) = @_;
    return if $uid < 0;
    my @st = lstat($path);
    return if !@st || -l _ || ($st[4] == $uid && $st[5] == $gid);
    chown($uid, $gid, $path);    # allowed to fail: an unprivileged account may not
}

# A folder on another file system (a mount below the docroot) cannot take a rename from the
# staging folder: copy next to the target under a temporary name, then rename that.
sub move_across {
    my ($staged, $target, $uid, $gid) = @_;
    (my $dir = $target) =~ s{/[^/]*\z}{};
    my $tmp = "$dir/.gitguard-$$-" . int(rand(1e12)) . ".tmp";
    my @st = lstat($staged);
    return 0 unless @st;
    if (-l _) {
        my $to = readlink($staged);
        return 0 unless defined $to && symlink($to, $tmp);
    } else {
        open(my $in, "<:raw", $staged) or return 0;
        sysopen(my $out, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or return 0;
        binmode $out;
        local $/ = \1048576;
        my $ok = 1;
        while (defined(my $chunk = <$in>)) { $ok = print {$out} $chunk or last; }
        $ok = close($out) && $ok;
        chmod($st[2] & 07777, $tmp) if $ok;
        if (!$ok) { my $err = $!; unlink($tmp); $! = $err; return 0; }
        owner($tmp, $uid, $gid);
    }
    if (!rename($tmp, $target)) { my $err = $!; unlink($tmp); $! = $err; return 0; }
    unlink($staged);
    return 1;
}

# The staged file of a step: a flat name this run gave it, else nothing.
sub staged_as {
    my ($name) = @_;
    return defined $name && $name =~ /\A[0-9a-f]{1,16}\z/ ? "$stage/$name" : undef;
}

# A copy inside the staging folder, which this run created: nothing followed, nothing
# overwritten.
sub stage_copy {
    my ($from, $to) = @_;
    $from = staged_as($from);
    $to = staged_as($to);
    return 0 unless defined $from && defined $to;
    sysopen(my $in, $from, O_RDONLY | O_NOFOLLOW) or return 0;
    sysopen(my $out, $to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or return 0;
    my ($buf, $n);
    while ($n = sysread($in, $buf, 1048576)) {
        my $done = syswrite($out, $buf);
        return 0 unless defined $done && $done == $n;
    }
    return defined($n) && close($out);
}

sub copy_one {
    my ($path, $arg) = @_;
    my ($name, $from) = split / /, $arg;
    $! = 0;
    return stage_copy($from, $name) ? "" : "$path\0" . ($! ? "$!" : "failed") . "\0";
}

# The copies, [PATH, ARG] each: worker k takes copies k, k + n, ... and reports its
# failures when done. A worker that dies fails every copy it was given.
sub copy_all {
    my @copies = @_;
    my $n = @copies < 64 * $workers ? 1 : $workers;
    if ($n <= 1) {
        print copy_one(@$_) for @copies;
        return;
    }
    my @readers;
    STDOUT->flush();    # else each worker would print what is still buffered once more
    for my $k (0 .. $n - 1) {
        pipe(my $reader, my $writer) or die "pipe: $!\n";
        my $pid = fork() // die "fork: $!\n";
        if ($pid == 0) {
            close $reader;
            my $failed = "";
            for (my $i = $k; $i < @copies; $i += $n) { $failed .= copy_one(@{ $copies[$i] }); }
            print {$writer} $failed;
            close $writer or exit 1;
            exit 0;
        }
        close $writer;
        push @readers, [$pid, $reader];
    }
    for my $k (0 .. $n - 1) {
        my ($pid, $reader) = @{ $readers[$k] };
        local $/;
        my $failed = <$reader> // "";
        waitpid($pid, 0);
        if ($? != 0) {
            $failed = "";
            for (my $i = $k; $i < @copies; $i += $n) { $failed .= "$copies[$i][0]\0copy failed\0"; }
        }
        print $failed;
    }
}

my @copies;
while (defined(my $op = <STDIN>)) {
    chomp $op;
    my $path = <STDIN>; chomp $path;
    my $arg = <STDIN>; chomp $arg;
    if ($op eq "K") {
        push @copies, [$path, $arg];
        next;
    }
    if (@copies) { copy_all(@copies); @copies = (); }
    my $target = "./$path";
    if (!safe_parent($target)) {
        print "$path\0a folder on the way is a symlink or not a folder\0";
        next;
    }
    my $ok;
    $! = 0;
    if ($op eq "R") {
        $ok = remove_tree($target);
    } elsif ($op eq "D") {
        my ($mode, $uid, $gid) = split / /, $arg;
        $ok = mkdir($target, 0700);
        owner($target, $uid, $gid) if $ok;
    } elsif ($op eq "M") {
        my ($mode, $uid, $gid, $name) = split / /, $arg;
        my $staged = staged_as($name);
        if (!defined $staged) {
            print "$path\0nothing staged for it\0";
            next;
        }
        if (!-l $staged) { chmod(oct($mode), $staged); owner($staged, $uid, $gid); }
        my @st = lstat($target);
        if (@st && -d _) { $! = 21; $ok = 0; }    # EISDIR: the plan removes folders first
        else {
            $ok = rename($staged, $target);
            $ok = move_across($staged, $target, $uid, $gid) if !$ok && $!{EXDEV};
        }
    } elsif ($op eq "C") {
        my ($mode, $uid, $gid) = split / /, $arg;
        my @st = lstat($target);
        if (@st && -l _) { $ok = 1; }
        else { $ok = chmod(oct($mode), $target); owner($target, $uid, $gid) if $ok; }
    } else {
        print "$path\0unknown step $op\0";
        next;
    }
    print "$path\0" . ($! ? "$!" : "failed") . "\0" unless $ok;
}
copy_all(@copies) if @copies;    # a plan of copies alone
remove_tree($stage);
