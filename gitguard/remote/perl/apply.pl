# gitguard restore, run on the web server by `perl -e` in the docroot.
# Reads the whole step script from stdin before it touches anything: records of three
# NUL-terminated fields OP, PATH, ARG, then "E", the number of records before it, "end".
# A script cut short, or one record that does not parse, changes nothing (exit 2).
# OP is R (remove, with everything in it, never following a link; ARG "-"), D (mkdir; ARG
# "mode uid gid"), C (chmod/chown; ARG "mode uid gid"), W (write a file) or L (make a link);
# ARG for W and L: "mode uid gid OID SOURCE". After the script comes the content, as
# `git cat-file --batch` prints it ("OID blob SIZE\n", the bytes, "\n"), one blob for each
# W or L step whose SOURCE is "s" (read the next blob) or "s+" (read it, and keep it open for
# later steps); "h" copies the blob kept for OID, "h-" copies it and lets it go.
# Every folder is entered by descriptor (O_NOFOLLOW|O_DIRECTORY, then fchdir) and left by
# ".." checked against its device and inode, so no step goes through a link or outside the
# docroot; files are written under a temporary name through their own descriptor, re-owned
# and re-moded through it, then renamed over the name. Prints "PATH\0REASON\0" for each step
# that failed.
use strict;
use warnings;
no warnings 'recursion';    # a deep tree is removed by recursion: one level a folder
use Fcntl qw(O_RDONLY O_RDWR O_CREAT O_EXCL O_NOFOLLOW O_DIRECTORY O_NONBLOCK);
use Errno qw(EISDIR EEXIST);

my $MAX_RECORDS = 10_000_000;
my $MAX_FIELD = 1 << 16;
my $CHUNK = 1 << 20;
my $BEAT = 10;    # seconds: a line on stderr at least this often while the work goes on
my $root_uid = $> == 0;
binmode(STDIN);
binmode(STDOUT);

# -- the script, whole, before anything is done ----------------------------------------------

sub bad { print STDERR "gitguard-apply: $_[0]; nothing was changed\n"; exit 2; }

sub valid_path {
    my ($path) = @_;
    return 0 if $path eq "" || length($path) > $MAX_FIELD || $path =~ m{\A/|//|/\z};
    for my $part (split m{/}, $path) { return 0 if $part eq "." || $part eq ".."; }
    return 1;
}

my @steps;
{
    local $/ = "\0";
    my $ended = 0;
    while (defined(my $op = <STDIN>)) {
        my $path = <STDIN>;
        my $arg = defined $path ? <STDIN> : undef;
        bad("the script was cut short") unless defined $arg;
        for ($op, $path, $arg) { bad("the script was cut short") unless chomp($_) == 1; }
        if ($op eq "E") {
            bad("the script's count does not match") unless $path eq scalar(@steps) && $arg eq "end";
            $ended = 1;
            last;
        }
        bad("too many steps") if @steps >= $MAX_RECORDS;
        bad("a step is not valid") unless valid_path($path) && (
            ($op eq "R" && $arg eq "-")
            || (($op eq "D" || $op eq "C") && $arg =~ /\A[0-7]{1,5} -?[0-9]{1,10} -?[0-9]{1,10}\z/)
            || (($op eq "W" || $op eq "L")
                && $arg =~ /\A[0-7]{1,5} -?[0-9]{1,10} -?[0-9]{1,10} [0-9a-f]{40,64} (?:s\+?|h-?)\z/));
        push @steps, [$op, $path, $arg];
    }
    bad("the script was cut short") unless $ended;
}

# -- where the process is: the docroot, or a folder below it ----------------------------------

sysopen(my $root, ".", O_RDONLY | O_DIRECTORY) or die "gitguard-apply: docroot: $!\n";
my @root_st = stat($root);
my @at;    # the folders from the docroot down to the cwd: [name, dev, ino] each
my $last_beat = time;

sub beat {
    return if time - $last_beat < $BEAT;
    $last_beat = time;
    print STDERR "gitguard-apply: working\n";
}

sub home { chdir($root) or die "gitguard-apply: back to the docroot: $!\n"; @at = (); }

# Into folder $name of the cwd: never through a link, and only a real folder.
sub down {
    my ($name) = @_;
    my $dh;
    if (!sysopen($dh, $name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK)) {
        # the web user's own folder chmod 311 cannot be opened for reading; that account is
        # the attacker's own, so opening it up by name risks nothing it could not do itself
        return 0 unless $!{EACCES} && !$root_uid && lstat($name) && -d _;
        my @st = lstat(_);
        chmod(($st[2] & 07777) | 0500, $name) or return 0;
        sysopen($dh, $name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK) or return 0;
    }
    my @st = stat($dh);
    chdir($dh) or return 0;
    push @at, [$name, $st[0], $st[1]];
    return 1;
}

# Up one folder, proving that ".." is the folder the process came from; else back home.
sub up {
    my $parent = @at >= 2 ? $at[-2] : [undef, @root_st[0, 1]];
    pop @at;
    my @st = chdir("..") ? lstat(".") : ();
    return 1 if @st && $st[0] == $parent->[1] && $st[1] == $parent->[2];
    home();
    return 0;
}

# The cwd made the folder that holds $path; its last name, or undef ($! says why).
sub reach {
    my ($path) = @_;
    my @parts = split m{/}, $path;
    my $name = pop @parts;
    my $same = 0;
    $same++ while $same < @at && $same < @parts && $at[$same][0] eq $parts[$same];
    while (@at > $same) { up() or do { $same = 0; last; }; }
    if (@at && @at == @parts) {
        # the folder the last step used: still where it was? (moved away, it is not)
        my @st = lstat("../$at[-1][0]");
        if (!@st || $st[0] != $at[-1][1] || $st[1] != $at[-1][2]) { home(); $same = 0; }
    }
    for my $part (@parts[scalar(@at) .. $#parts]) {
        if (!down($part)) { my $err = $!; home(); $! = $err; return undef; }
    }
    return $name;
}

# -- the operations, each on a name in the cwd -------------------------------------------------

# Remove $name and, for a folder, everything in it, descending by descriptor.
sub remove_entry {
    my ($name) = @_;
    beat();
    lstat($name) or return $!{ENOENT} ? 1 : 0;
    return unlink($name) || $!{ENOENT} ? 1 : 0 unless -d _;
    my $depth = @at;
    # swapped for a link or a file meanwhile: that goes, not what it points at
    down($name) or return ($!{ELOOP} || $!{ENOTDIR}) && unlink($name) ? 1 : 0;
    my @st = stat(".");
    # The attacker's chmod 555 must not keep their files: open it up, it goes anyway.
    chmod(0700, ".") if ($st[2] & 0700) != 0700;    # the cwd: no name to swap
    my @names;
    if (opendir(my $dh, ".")) {
        @names = grep { $_ ne "." && $_ ne ".." } readdir($dh);
        closedir($dh);
    }
    my $ok = 1;
    for my $entry (@names) {
        next if remove_entry($entry);
        $ok = 0;
        last if @at != $depth + 1;    # lost its way: the cwd is no longer this folder
    }
    my $err = $!;
    return 0 if @at != $depth + 1 || !up();
    $! = $err;
    return 0 unless $ok;
    return rmdir($name) || $!{ENOENT} ? 1 : 0;
}

sub owner {
    my ($fh, $uid, $gid, @st) = @_;
    return 1 if $uid < 0 || ($st[4] == $uid && $st[5] == $gid);
    chown($uid, $gid, $fh);    # allowed to fail: an unprivileged account may not
    return 1;
}

# chmod/chown $name through a descriptor: never a link's target; a FIFO does not block.
sub set_mode {
    my ($name, $mode, $uid, $gid) = @_;
    my @seen = lstat($name) or return 0;
    return 1 if -l _;    # a link has no mode of its own
    return 0 unless -f _ || -d _;
    my $fh;
    if (!sysopen($fh, $name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) {
        # the web user's own file chmod 000: see down()
        return 0 unless $!{EACCES} && !$root_uid;
        return chmod($mode, $name) ? 1 : 0;
    }
    my @st = stat($fh);
    return 0 unless $st[0] == $seen[0] && $st[1] == $seen[1];
    owner($fh, $uid, $gid, @st);    # first: a chown clears the setuid bit
    return chmod($mode, $fh) ? 1 : 0;
}

sub make_dir {
    my ($name, $uid, $gid) = @_;
    mkdir($name, 0700) or return 0;
    sysopen(my $dh, $name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) or return 0;
    return owner($dh, $uid, $gid, stat($dh));
}

# -- content ---------------------------------------------------------------------------------

my $cut = 0;    # the content stream ended early: every later step that needs it fails
my %kept;       # OID -> [handle, size] of content later steps copy

# The next blob's header; its size, or undef (the stream ended, or the blob is missing).
sub next_blob {
    my ($oid) = @_;
    return undef if $cut;
    local $/ = "\n";
    my $head = <STDIN>;
    if (!defined $head || $head !~ /\A([0-9a-f]+) (?:blob ([0-9]+)|(missing))\n\z/ || $1 ne $oid) {
        $cut = 1;
        return undef;
    }
    return $2;    # undef when missing
}

# Copy $size bytes from $in (STDIN, or a kept handle) to $out (or nowhere: skip them).
sub pass {
    my ($in, $out, $size, $from_stdin) = @_;
    my ($ok, $buf) = (1, "");
    while ($size > 0) {
        my $want = $size < $CHUNK ? $size : $CHUNK;
        my $n = $from_stdin ? read($in, $buf, $want) : sysread($in, $buf, $want);
        if (!$n) { $cut = 1 if $from_stdin; return 0; }
        $size -= $n;
        if ($ok && defined $out) {
            my $done = syswrite($out, $buf);
            $ok = 0 unless defined $done && $done == $n;
        }
    }
    return $ok;
}

# Read the blob of a step whose content the stream carries, into $out (or skip it).
sub from_stream {
    my ($oid, $out) = @_;
    my $size = next_blob($oid);
    return (0, undef) unless defined $size;
    my $ok = pass(\*STDIN, $out, $size, 1);
    return (0, undef) if $cut;
    local $/ = "\n";
    my $nl = <STDIN>;
    if (!defined $nl || $nl ne "\n") { $cut = 1; return (0, undef); }
    return ($ok, $size);
}

my $seq = 0;
sub temp { return sprintf(".gitguard-%d-%x.tmp", $$, $seq++); }

# Write file $name: temporary name (O_EXCL, O_NOFOLLOW), content, owner and mode through the
# descriptor, rename, then prove the name holds what was written.
sub write_file {
    my ($name, $mode, $uid, $gid, $oid, $source) = @_;
    my $tmp = temp();
    my $out;
    if (!sysopen($out, $tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) {
        my $err = $!;
        drop($oid, $source);
        $! = $err;
        return 0;
    }
    my ($filled, $size) = fill($out, $oid, $source);
    # kept even when this step fails: the descriptor outlives the name
    keep($oid, $out, $size) if $filled && $source eq "s+";
    my @st = stat($out);
    my $ok = $filled && owner($out, $uid, $gid, @st) && chmod($mode, $out);
    if ($ok && lstat($name) && -d _) { $ok = 0; $! = EISDIR; }    # the plan removes folders first
    $ok = $ok && rename($tmp, $name);
    if (!$ok) { my $err = $!; unlink($tmp); $! = $err; return 0; }
    my @now = lstat($name);
    return 1 if @now && $now[0] == $st[0] && $now[1] == $st[1];
    $! = EEXIST;    # replaced between the rename and now: the rescan names it
    return 0;
}

# Content kept for later steps: the file just written (a private copy if it was not).
sub keep {
    my ($oid, $fh, $size) = @_;
    $kept{$oid} = [$fh, $size];
}

# The content for a step into $out: from the stream, or copied from what was kept.
sub fill {
    my ($out, $oid, $source) = @_;
    if ($source =~ /\As/) {
        return from_stream($oid, $out);
    }
    my $held = $kept{$oid};
    delete $kept{$oid} if $source eq "h-";
    return (0, undef) unless $held;
    my ($in, $size) = @$held;
    sysseek($in, 0, 0) or return (0, undef);
    return (pass($in, $out, $size, 0), $size);
}

# A step that could not be carried out still consumes its content; content that later
# steps need is kept in a private temporary file (not in the docroot) instead.
sub drop {
    my ($oid, $source) = @_;
    if ($source eq "h-") { delete $kept{$oid}; return; }
    return unless $source =~ /\As/;
    my $private;
    if ($source eq "s+") { open($private, "+>:raw", undef) or $private = undef; }
    my ($ok, $size) = from_stream($oid, $private);
    keep($oid, $private, $size) if $ok && $private;
}

sub make_link {
    my ($name, $oid, $source) = @_;
    my $size = next_blob($oid);
    return 0 unless defined $size;
    my $target = "";
    my $ok = $size < $MAX_FIELD;
    if ($ok) {
        $ok = $size == 0 || read(STDIN, $target, $size) == $size;
        $cut = 1 unless $ok;
    } else {
        pass(\*STDIN, undef, $size, 1);
    }
    local $/ = "\n";
    my $nl = <STDIN>;
    if (!defined $nl || $nl ne "\n") { $cut = 1; return 0; }
    return 0 unless $ok;
    my $tmp = temp();
    symlink($target, $tmp) or return 0;
    if (lstat($name) && -d _) { unlink($tmp); $! = EISDIR; return 0; }
    if (!rename($tmp, $name)) { my $err = $!; unlink($tmp); $! = $err; return 0; }
    return 1;
}

# -- the steps -------------------------------------------------------------------------------

for my $step (@steps) {
    my ($op, $path, $arg) = @$step;
    beat();
    my ($mode, $uid, $gid, $oid, $source) = split / /, $arg;
    $! = 0;
    my $name = reach($path);
    my $ok = 0;
    if (!defined $name) {
        drop($oid, $source) if $op eq "W";
        drop($oid, "s") if $op eq "L";
        print "$path\0a folder on the way is a symlink or not a folder\0";
        next;
    }
    if ($op eq "R") {
        $ok = remove_entry($name);
    } elsif ($op eq "D") {
        $ok = make_dir($name, $uid, $gid);
    } elsif ($op eq "C") {
        $ok = set_mode($name, oct($mode), $uid, $gid);
    } elsif ($op eq "W") {
        $ok = write_file($name, oct($mode), $uid, $gid, $oid, $source);
    } else {
        $ok = make_link($name, $oid, $source);
    }
    next if $ok;
    my $why = $cut ? "the content stream was cut short" : $! ? "$!" : "failed";
    print "$path\0$why\0";
}
