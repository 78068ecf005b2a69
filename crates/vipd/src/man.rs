//! The hand-written sections of `vipd(8)`, after the ones clap_mangen makes from the
//! command line (`vipd --generate-man`). Roff: `\-` is a minus, `\fB`/`\fI`/`\fR` bold,
//! italic, roman.

/// SIGNALS, EXIT STATUS, FILES, EXAMPLES and SEE ALSO.
pub const SECTIONS: &str = r#".SH SIGNALS
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Stop. A master sends an advert of priority 0, so that a backup takes over at once, and
keeps its VIPs until the new master's first advert arrives (or Master_Down_Interval
passes); then it removes them and exits. The instances' \fBstopped\fR and \fBany\fR
notify hooks run, and vipd waits for them within a bound. A second signal stops the
waiting and exits at once.
.TP
\fBSIGHUP\fR
Reload the configuration (\fBsystemctl reload vipd\fR). A file that does not pass is
refused, logged, and the running configuration stays. Unchanged instances run on
untouched; changed settings apply in place where they can; removed instances leave as on
SIGTERM; new ones start. \fBcontrol_socket\fR, \fBlog_level\fR, \fBstate_dir\fR,
\fBoperator_group\fR, \fBrealtime_priority\fR, \fBlock_memory\fR and \fBmetrics\fR take
effect at the next start only.
.SH "EXIT STATUS"
.TP
\fB0\fR
The daemon stopped cleanly; \fB\-\-check\fR found the file valid; \fB\-\-release\fR
removed what there was to remove.
.TP
\fB1\fR
The configuration is not valid (the message names the file, line, column and field); the
daemon could not start or failed; a VIP could not be removed on the way out, or a second
signal cut the stop short.
.TP
\fB2\fR
The command line is wrong.
.SH FILES
.TP
\fI/etc/vipd/vipd.yaml\fR
The configuration: vipd.yaml(5).
.TP
\fI/run/vipd/vipd.sock\fR
The control socket vipctl(8) talks to (\fBcontrol_socket\fR).
.TP
\fI/run/vipd/vipd.release.json\fR
The VIPs of the configuration the daemon runs, beside the control socket, for
\fB\-\-release\fR.
.TP
\fI/var/lib/vipd/\fR
What survives a restart: maintenance, authentication sequence numbers (\fBstate_dir\fR).
.TP
\fI/lib/systemd/system/vipd.service\fR
The unit of the Debian package.
.SH EXAMPLES
Check a configuration before using it:
.PP
.nf
.RS
vipd \-\-config /etc/vipd/vipd.yaml \-\-check
.RE
.fi
.PP
Run in the foreground (as root, or with CAP_NET_ADMIN and CAP_NET_RAW):
.PP
.nf
.RS
vipd \-\-config /etc/vipd/vipd.yaml
.RE
.fi
.PP
Reload after editing the file, then remove VIPs a killed daemon left behind:
.PP
.nf
.RS
systemctl reload vipd
vipd \-\-config /etc/vipd/vipd.yaml \-\-release
.RE
.fi
.SH "SEE ALSO"
vipctl(8), vipd.yaml(5), keepalived(8)
"#;
