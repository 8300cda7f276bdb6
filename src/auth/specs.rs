//! How Redis 7.0.15 describes the commands the core answers when access control is on
//! (`AUTH`, and `ACL` with its subcommands for the built-in ACL); added to the server's
//! command table so that `COMMAND`, the unknown-command and arity checks, and ACL rules
//! (`+acl|whoami`, `-@admin`) see them.

use crate::commands::{AclCategories, CommandSpec, Flags};

/// The specs of `AUTH` and (with `acl`) of `ACL` and its subcommands.
pub(crate) fn command_specs(acl: bool) -> Vec<CommandSpec> {
    let s = CommandSpec::new;
    let mut specs = vec![s("auth", -2)
        .flags(
            Flags::NOSCRIPT
                | Flags::LOADING
                | Flags::STALE
                | Flags::FAST
                | Flags::NO_AUTH
                | Flags::ALLOW_BUSY,
        )
        .acl(AclCategories::CONNECTION)
        .summary("Authenticate to the server")
        .since("1.0.0")
        .group("connection")
        .complexity("O(N) where N is the number of passwords defined for the user")];
    if !acl {
        return specs;
    }
    let admin = Flags::ADMIN | Flags::NOSCRIPT | Flags::LOADING | Flags::STALE;
    let plain = Flags::NOSCRIPT | Flags::LOADING | Flags::STALE;
    let sub = |name: &str, arity: i32, flags: Flags, summary: &str, complexity: &str| {
        s(name, arity)
            .flags(flags)
            .summary(summary)
            .since("6.0.0")
            .group("server")
            .complexity(complexity)
    };
    specs.push(
        s("acl", -2)
            .summary("A container for Access List Control commands")
            .since("6.0.0")
            .group("server")
            .complexity("Depends on subcommand."),
    );
    specs.extend([
        sub(
            "acl|cat",
            -2,
            plain,
            "List the ACL categories or the commands inside a category",
            "O(1) since the categories and commands are a fixed set.",
        ),
        sub(
            "acl|deluser",
            -3,
            admin,
            "Remove the specified ACL users and the associated rules",
            "O(1) amortized time considering the typical user.",
        ),
        sub(
            "acl|dryrun",
            -4,
            admin,
            "Returns whether the user can execute the given command without executing the command.",
            "O(1).",
        )
        .since("7.0.0"),
        sub(
            "acl|genpass",
            -2,
            plain,
            "Generate a pseudorandom secure password to use for ACL users",
            "O(N)",
        ),
        sub(
            "acl|help",
            2,
            Flags::LOADING | Flags::STALE,
            "Show helpful text about the different subcommands",
            "O(1)",
        ),
        sub(
            "acl|getuser",
            3,
            admin,
            "Get the rules for a specific ACL user",
            "O(N). Where N is the number of password, command and pattern rules that the user has.",
        ),
        sub(
            "acl|list",
            2,
            admin,
            "List the current ACL rules in ACL config file format",
            "O(N). Where N is the number of configured users.",
        ),
        sub(
            "acl|load",
            2,
            admin,
            "Reload the ACLs from the configured ACL file",
            "O(N). Where N is the number of configured users.",
        ),
        sub(
            "acl|log",
            -2,
            admin,
            "List latest events denied because of ACLs in place",
            "O(N) with N being the number of entries shown.",
        ),
        sub(
            "acl|save",
            2,
            admin,
            "Save the current ACL rules in the configured ACL file",
            "O(N). Where N is the number of configured users.",
        ),
        sub(
            "acl|setuser",
            -3,
            admin,
            "Modify or create the rules for a specific ACL user",
            "O(N). Where N is the number of rules provided.",
        ),
        sub(
            "acl|users",
            2,
            admin,
            "List the username of all the configured ACL rules",
            "O(N). Where N is the number of configured users.",
        ),
        sub(
            "acl|whoami",
            2,
            plain,
            "Return the name of the user associated to the current connection",
            "O(1)",
        ),
    ]);
    specs
}
