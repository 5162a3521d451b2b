require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

# Moved out of Junk: wanted after all, unless it went to the Trash.
if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string "${mailbox}" "Trash" {
  stop;
}
pipe :copy "vouch-report" ["ham"];
