complete -c vipd -s c -l config -d 'Configuration file (YAML)' -r -F
complete -c vipd -l check -d 'Validate the configuration and exit: 0 if valid, 1 if not'
complete -c vipd -l release -d 'Remove the VIPs that a vipd with this configuration added and left behind (after a crash or SIGKILL), and nothing else; then exit. Also works when the file no longer parses: the VIPs the daemon last ran with are remembered beside its control socket'
complete -c vipd -s h -l help -d 'Print help'
complete -c vipd -s V -l version -d 'Print version'
