# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vipctl_global_optspecs
    string join \n socket= h/help V/version
end

function __fish_vipctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vipctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vipctl_using_subcommand
    set -l cmd (__fish_vipctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vipctl -n "__fish_vipctl_needs_command" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_needs_command" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_needs_command" -s V -l version -d 'Print version'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "status" -d 'Show the state of every VRRP instance: a table when there are several, the detailed report for one (or with NAME or --verbose)'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "maintenance" -d 'Maintenance on: a master hands its VIPs over without a gap and the instances stay backup (across reloads and restarts) until maintenance is off. Every instance when none is named. Needs root or the configured operator_group'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "drill" -d 'A rehearsed failover, timed, on the master: checks that a healthy backup answers (`status --cluster`; refuses and changes nothing otherwise), turns maintenance on (make-before-break handover), confirms the backup is master with the VIPs, turns maintenance off and waits for the VIPs to come back (or reports that they stay). Every wait is bounded; on a failure, or on Ctrl-C, maintenance is turned off again. Needs root or the configured operator_group. Exit 1 when refused, failed or interrupted'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "watch" -d 'Follow what vipd does, one line per event as it happens: state changes, health check changes, maintenance on/off, reloads and dropped packets (summarised at most once a second). Runs until vipd stops (exit 0) or goes away (exit 2), or Ctrl-C'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "import" -d 'Convert another agent\'s configuration into vipd\'s YAML (printed on stdout)'
complete -c vipctl -n "__fish_vipctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vipctl -n "__fish_vipctl_using_subcommand status" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand status" -s v -l verbose -d 'The detailed report of every instance instead of the table'
complete -c vipctl -n "__fish_vipctl_using_subcommand status" -l json -d 'Print the daemon\'s status as JSON instead of a report (with NAME: only that instance in `instances`)'
complete -c vipctl -n "__fish_vipctl_using_subcommand status" -l cluster -d 'The whole cluster: this node and every peer (`cluster_peers:` in vipd\'s configuration, read over their metrics listeners, 1 s each, in parallel) in one table, with what is wrong flagged under it (a node unreachable, a VIP on two nodes, no master, settings that differ between nodes). Exit code 1 when something is flagged'
complete -c vipctl -n "__fish_vipctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand maintenance" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand maintenance" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand drill" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand drill" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand watch" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand watch" -l json -d 'Print the daemon\'s JSON lines as they come (the answer first)'
complete -c vipctl -n "__fish_vipctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and not __fish_seen_subcommand_from keepalived help" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and not __fish_seen_subcommand_from keepalived help" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and not __fish_seen_subcommand_from keepalived help" -f -a "keepalived" -d 'Read a keepalived.conf (with its includes, $PARAMETERS and @ID conditionals) and print a vipd configuration that behaves the same on the wire, with comments. What cannot be converted is named in REVIEW comments (file:line and what to do). Exit status: 0 complete, 1 needs review, 2 could not be produced (`file:line: message`)'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and not __fish_seen_subcommand_from keepalived help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from keepalived" -l host -d 'keepalived\'s config id for `@ID` lines (keepalived -i) [default: this host\'s name up to the first dot]' -r
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from keepalived" -l vipd -d 'The vipd binary for --check-on-this-host' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from keepalived" -l socket -d 'The daemon\'s control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]' -r -F
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from keepalived" -l check-on-this-host -d 'Also run `vipd --config <the result> --check` here; exit 2 when it refuses'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from keepalived" -s h -l help -d 'Print help'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "keepalived" -d 'Read a keepalived.conf (with its includes, $PARAMETERS and @ID conditionals) and print a vipd configuration that behaves the same on the wire, with comments. What cannot be converted is named in REVIEW comments (file:line and what to do). Exit status: 0 complete, 1 needs review, 2 could not be produced (`file:line: message`)'
complete -c vipctl -n "__fish_vipctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "status" -d 'Show the state of every VRRP instance: a table when there are several, the detailed report for one (or with NAME or --verbose)'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "maintenance" -d 'Maintenance on: a master hands its VIPs over without a gap and the instances stay backup (across reloads and restarts) until maintenance is off. Every instance when none is named. Needs root or the configured operator_group'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "drill" -d 'A rehearsed failover, timed, on the master: checks that a healthy backup answers (`status --cluster`; refuses and changes nothing otherwise), turns maintenance on (make-before-break handover), confirms the backup is master with the VIPs, turns maintenance off and waits for the VIPs to come back (or reports that they stay). Every wait is bounded; on a failure, or on Ctrl-C, maintenance is turned off again. Needs root or the configured operator_group. Exit 1 when refused, failed or interrupted'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "watch" -d 'Follow what vipd does, one line per event as it happens: state changes, health check changes, maintenance on/off, reloads and dropped packets (summarised at most once a second). Runs until vipd stops (exit 0) or goes away (exit 2), or Ctrl-C'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "import" -d 'Convert another agent\'s configuration into vipd\'s YAML (printed on stdout)'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and not __fish_seen_subcommand_from status maintenance drill watch import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vipctl -n "__fish_vipctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "keepalived" -d 'Read a keepalived.conf (with its includes, $PARAMETERS and @ID conditionals) and print a vipd configuration that behaves the same on the wire, with comments. What cannot be converted is named in REVIEW comments (file:line and what to do). Exit status: 0 complete, 1 needs review, 2 could not be produced (`file:line: message`)'
