//! `userlist` sections (users, their passwords and groups) for
//! `http_auth` and `http_auth_group`, with haproxy 2.6's error texts, and
//! the check of an `Authorization: Basic` header against one.

use super::lexer::Word;
use super::parser::{Parser, Section};
use crate::config::{Form, Severity};
use serde::Serialize;
use sha_crypt::{PasswordVerifier, ShaCrypt};

/// How a user's password is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Password {
    /// `insecure-password`: as written.
    Plain(String),
    /// `password`: a SHA-256 or SHA-512 crypt(3) hash (`$5$`, `$6$`).
    Crypt(String),
}

/// One `user` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its name.
    pub name: String,
    /// Its password; `None`: no password lets it in.
    pub password: Option<Password>,
    /// The groups it names on its own line.
    pub groups: Vec<String>,
}

/// One `userlist` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Userlist {
    /// Its name.
    pub name: String,
    /// Its users in order.
    pub users: Vec<User>,
    /// Its groups with the users each `group ... users` line names.
    pub groups: Vec<(String, Vec<String>)>,
}

impl Userlist {
    /// The user `name` when `password` is its password.
    pub fn check(&self, name: &str, password: &str) -> Option<&User> {
        let user = self.users.iter().find(|u| u.name == name)?;
        let ok = match &user.password {
            Some(Password::Plain(p)) => p == password,
            Some(Password::Crypt(hash)) => ShaCrypt::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok(),
            None => false,
        };
        ok.then_some(user)
    }

    /// The groups `user` belongs to: its own list and the groups that
    /// name it.
    pub fn groups_of<'a>(&'a self, user: &'a User) -> impl Iterator<Item = &'a str> {
        let named = self
            .groups
            .iter()
            .filter(|(_, members)| members.contains(&user.name))
            .map(|(g, _)| g.as_str());
        user.groups.iter().map(String::as_str).chain(named)
    }
}

impl Parser<'_> {
    /// haproxy's checks once every file is read: each group a user names
    /// and each user a group names exists.
    pub(super) fn check_userlists(&mut self) {
        let mut problems = Vec::new();
        for ul in &self.userlists {
            for user in &ul.users {
                for g in user
                    .groups
                    .iter()
                    .filter(|g| !ul.groups.iter().any(|(n, _)| n == *g))
                {
                    problems.push(format!(
                        "userlist '{}': no such group '{g}' specified in user '{}'",
                        ul.name, user.name
                    ));
                }
            }
            for (group, members) in &ul.groups {
                for m in members
                    .iter()
                    .filter(|m| !ul.users.iter().any(|u| u.name == **m))
                {
                    problems.push(format!(
                        "userlist '{}': no such user '{m}' specified in group '{group}'",
                        ul.name
                    ));
                }
            }
        }
        for p in problems {
            self.post_error(Severity::Error, p);
        }
    }

    /// `userlist <name>`: opens the section.
    pub(super) fn open_userlist(&mut self, words: &[Word]) {
        let Some(name) = words.get(1) else {
            self.section = Section::Skipped;
            let msg = "'userlist' expects <name> as argument.";
            return self.error(Form::ParsingTight, words[0].col, msg.into());
        };
        if self.userlists.iter().any(|u| u.name == name.text) {
            self.section = Section::Skipped;
            let msg = format!("ignoring duplicated userlist '{}'.", name.text);
            return self.warn(Form::ParsingTight, name.col, msg);
        }
        self.userlists.push(Userlist {
            name: name.text.clone(),
            users: Vec::new(),
            groups: Vec::new(),
        });
        self.section = Section::Userlist(self.userlists.len() - 1);
    }

    /// A `group` or `user` line of userlist `index`.
    pub(super) fn userlist_keyword(&mut self, index: usize, words: &[Word]) {
        let kw = words[0].text.as_str();
        let col = words[0].col;
        let Some(name) = words.get(1).map(|w| w.text.clone()) else {
            let msg = format!("'{kw}' expects <name> as argument.");
            return self.error(Form::ParsingTight, col, msg);
        };
        let list = |text: Option<&Word>| -> Vec<String> {
            text.map(|w| w.text.split(',').map(str::to_owned).collect())
                .unwrap_or_default()
        };
        match kw {
            "group" => {
                let members = match words.get(2).map(|w| w.text.as_str()) {
                    None => Vec::new(),
                    Some("users") => list(words.get(3)),
                    Some(_) => {
                        let msg = "'group' only supports 'users' option.";
                        return self.error(Form::ParsingTight, col, msg.into());
                    }
                };
                let ul = &mut self.userlists[index];
                if ul.groups.iter().any(|(g, _)| *g == name) {
                    let msg = format!(
                        "ignoring duplicated group '{name}' in userlist '{}'.",
                        ul.name
                    );
                    return self.warn(Form::ParsingTight, col, msg);
                }
                ul.groups.push((name, members));
            }
            "user" => {
                let mut user = User {
                    name,
                    password: None,
                    groups: Vec::new(),
                };
                let mut i = 2;
                while let Some(w) = words.get(i) {
                    let value = words.get(i + 1);
                    match (w.text.as_str(), value) {
                        ("password", Some(v)) => {
                            let hash = &v.text;
                            if !(hash.starts_with("$5$") || hash.starts_with("$6$")) {
                                self.not_supported(v.col, "userlist password hash");
                            }
                            user.password = Some(Password::Crypt(hash.clone()));
                        }
                        ("insecure-password", Some(v)) => {
                            user.password = Some(Password::Plain(v.text.clone()));
                        }
                        ("groups", Some(_)) => user.groups = list(value),
                        _ => {
                            let msg = "'user' only supports 'password', 'insecure-password' and 'groups' options.";
                            return self.error(Form::ParsingTight, w.col, msg.into());
                        }
                    }
                    i += 2;
                }
                self.userlists[index].users.push(user);
            }
            _ => {
                let msg = format!("unknown keyword '{kw}' in 'userlist' section");
                self.error(Form::ParsingTight, col, msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_sha_crypt_passwords_check() {
        let list = Userlist {
            name: "L".into(),
            users: vec![
                User {
                    name: "scott".into(),
                    password: Some(Password::Plain("elgato".into())),
                    groups: vec!["G1".into()],
                },
                User {
                    name: "tiger".into(),
                    // crypt("secret", "$6$saltsalt$")
                    password: Some(Password::Crypt(SECRET.into())),
                    groups: Vec::new(),
                },
            ],
            groups: vec![("G2".into(), vec!["tiger".into(), "scott".into()])],
        };
        let scott = list.check("scott", "elgato").expect("valid");
        assert_eq!(list.groups_of(scott).collect::<Vec<_>>(), ["G1", "G2"]);
        assert!(list.check("scott", "nope").is_none());
        assert!(list.check("tiger", "secret").is_some());
        assert!(list.check("tiger", "Secret").is_none());
        assert!(list.check("nobody", "secret").is_none());
    }

    const SECRET: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
}
