// `assistant audit ...`: the offline auditor commands.
//
//   verify     [--db PATH --key-file FILE | --bundle DIR] [--public-key FILE]
//              [--checkpoint FILE]... [--json]
//   query      --db PATH --key-file FILE [--since T] [--until T] [--subject S]
//              [--event E] [--decision D] [--classification C]
//              [--conversation ID] [--limit N]            (JSON Lines)
//   export     --db PATH --key-file FILE --out DIR [query filters]
//   checkpoint --db PATH --key-file FILE [--out FILE]
//   keygen     --signing-key FILE [--name NAME] [--public-key FILE]
//              | --master-key FILE
//
// --db takes the state directory (ledger.db inside) or the database file;
// --key-file the master key file (or --credential NAME for a systemd
// credential). Exit status: 0 verified/done, 1 tampering found, 2 error.
#ifndef AUDIT_CLI_H_
#define AUDIT_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace audit::cli {

// `args` excludes the leading "audit".
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace audit::cli

#endif  // AUDIT_CLI_H_
