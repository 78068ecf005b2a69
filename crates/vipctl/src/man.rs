//! `vipctl(8)` beyond what clap_mangen makes: every command's usage and options in one
//! page (clap_mangen's SUBCOMMANDS section names a `vipctl-status(8)` page per command,
//! which vipd does not ship), then the hand-written sections. Roff: `\-` is a minus,
//! `\fB`/`\fI`/`\fR` bold, italic, roman.

/// Text as roff: backslashes and minus signs escaped, no line read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The COMMANDS section: for every command (`import keepalived` included), its usage,
/// what it does, and its arguments and options.
pub fn commands(cmd: &clap::Command) -> String {
    let mut cmd = cmd.clone();
    cmd.build();
    let mut out = String::from(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| shown(s)) {
        command(sub, &mut out);
    }
    out
}

/// Every command but clap's own `help`.
fn shown(sub: &clap::Command) -> bool {
    !sub.is_hide_set() && sub.get_name() != "help"
}

fn command(sub: &clap::Command, out: &mut String) {
    if sub.has_subcommands() {
        for inner in sub.get_subcommands().filter(|s| shown(s)) {
            command(inner, out);
        }
        return;
    }
    let usage = sub.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    out.push_str(&format!(".SS \"{}\"\n", roff(usage)));
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        out.push_str(&roff(&about.to_string()));
        out.push('\n');
    }
    // The global options (`--socket`) are in OPTIONS already.
    for arg in sub
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set() && a.get_id() != "help")
    {
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR, \\fB\\-\\-{}\\fR", roff(l)),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, None) => {
                let names = arg
                    .get_value_names()
                    .map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .unwrap_or_else(|| vec![arg.get_id().to_string().to_uppercase()]);
                format!("\\fI{}\\fR", roff(&names.join(" ")))
            }
        };
        out.push_str(".TP\n");
        out.push_str(&name);
        if arg.get_long().is_some() && arg.get_action().takes_values() {
            let value = arg.get_value_names().and_then(|v| v.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |v| v.to_string(),
            );
            out.push_str(&format!(" \\fI<{}>\\fR", roff(&value)));
        }
        if let Some(default) = arg
            .get_default_values()
            .first()
            .filter(|_| arg.get_action().takes_values())
        {
            out.push_str(&format!(" [default: {}]", roff(&default.to_string_lossy())));
        }
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !values.is_empty() && (arg.get_long().is_none()) {
            out.push_str(&format!(" (\\fB{}\\fR)", roff(&values.join("|"))));
        }
        out.push('\n');
        if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
            out.push_str(&roff(&help.to_string()));
            out.push('\n');
        }
    }
}

/// EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES and SEE ALSO.
pub const SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Done: the answer was printed, the change made, the drill passed, \fBwatch\fR saw vipd
stop, or \fBimport\fR converted everything.
.TP
\fB1\fR
vipd answered with an error or refused the request (\fBpermission denied\fR, an unknown
instance); \fBstatus \-\-cluster\fR flagged a problem; a drill was refused or failed;
\fBimport\fR left something for review.
.TP
\fB2\fR
vipd could not be reached (no socket, no answer within 2 s); the command line is wrong;
\fBimport\fR could not produce a configuration.
.SH ENVIRONMENT
.TP
\fBVIPD_SOCKET\fR
The control socket, when \fB\-\-socket\fR is not given.
.TP
\fBNO_COLOR\fR
Set: no colour in tables, even on a terminal.
.SH FILES
.TP
\fI/run/vipd/vipd.sock\fR
The control socket (mode 0660): reading and watching for those who may connect;
changes (\fBmaintenance\fR, \fBdrill\fR) for root and members of vipd's
\fBoperator_group\fR.
.SH EXAMPLES
.nf
.RS
vipctl status
vipctl status web \-\-json
vipctl status \-\-cluster
vipctl watch web
vipctl maintenance on web
vipctl maintenance off
vipctl drill web
vipctl import keepalived /etc/keepalived/keepalived.conf > vipd.yaml
.RE
.fi
.SH "SEE ALSO"
vipd(8), vipd.yaml(5)
"#;
