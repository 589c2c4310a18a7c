/** The {@code rl} command line: one picocli command class per subcommand. */
package rl.cli;
