//! The weighted signals, one per attack idiom, grouped into families.
//!
//! Patterns run on the normalized view (lowercase, ASCII-folded Latin, CJK and Cyrillic as
//! is). Two placeholders keep them readable: `{S}` is a separator between words and `{W}` one
//! word. `\b` is an ASCII word boundary, which keeps the lazy DFA usable on non-ASCII text.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Override,
    Delimiter,
    Extraction,
    Jailbreak,
    Exfiltration,
}

/// How a benign framing may weaken a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damp {
    /// Quoted mentions and questions about the concept ("why does my model ignore the system
    /// prompt?") both weaken it.
    Full,
    /// Only a quoted mention with meta framing weakens it: the pattern already requires a
    /// possessive or an imperative that a question about the concept would not use.
    QuoteOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct SignalDef {
    pub name: &'static str,
    pub family: Family,
    pub weight: f64,
    pub damp: Damp,
    pub pattern: &'static str,
}

const fn sig(
    name: &'static str,
    family: Family,
    weight: f64,
    damp: Damp,
    pattern: &'static str,
) -> SignalDef {
    SignalDef {
        name,
        family,
        weight,
        damp,
        pattern,
    }
}

use Damp::{Full, QuoteOnly};
use Family::{Delimiter, Exfiltration, Extraction, Jailbreak, Override};

pub const SIGNALS: &[SignalDef] = &[
    // ---- instruction override -----------------------------------------------------------
    sig(
        "override.ignore_previous",
        Override,
        0.8,
        Full,
        r"\b(?:ignore|ignoring|disregard|disregarding|forget|skip|override|bypass|discard|abandon|neglect|set aside|pay no attention to|do not (?:follow|obey|heed)|don'?t (?:follow|obey|heed)|stop (?:following|obeying)|no longer (?:follow|obey))\b{S}(?:(?:all|any|every|each|of|the|your|my|its|these|those|such|that|this|whatever|what|you|were|was|have|been|given|just|entire|entirely|whole|complete|set|list|instead|now|also|kindly)\b{S}){0,5}(?:previous|prior|preceding|above|earlier|foregoing|former|initial|original|old|existing|system|developer|default|safety|programmed|hidden|preset|pre-?set)\b{S}(?:{W}{S}){0,2}?(?:instructions?|directions?|directives?|rules?|guidelines?|prompts?|commands?|orders|programming|constraints?|restrictions?|guardrails?|polic(?:y|ies)|context|training|settings|messages?|conversation|text|content|input)\b",
    ),
    sig(
        "override.ignore_previous",
        Override,
        0.8,
        Full,
        r"\b(?:ignore|disregard|forget|override|bypass|discard|do not follow|don'?t follow)\b{S}(?:(?:all|any|every|of|the|your|these|those)\b{S}){0,3}(?:instructions?|directions?|directives?|rules?|guidelines?|prompts?|commands?|orders|text|content)\b{S}(?:above|before|given (?:before|earlier|above|previously)|you (?:were|have been) given|you received|so far|until now|up to now|from before|previously)",
    ),
    sig(
        "override.ignore_instructions",
        Override,
        0.55,
        Full,
        r"\b(?:ignore|disregard|forget|override|bypass|discard|do not follow|don'?t follow|stop following)\b{S}(?:(?:all|any|every|of|your|its|their)\b{S}){1,3}(?:instructions?|directives?|rules|guidelines|prompts?|programming|constraints|restrictions|guardrails|training)\b",
    ),
    sig(
        "override.forget_everything",
        Override,
        0.75,
        Full,
        r"\b(?:ignore|disregard|forget|discard|erase|delete|wipe|clear)\b{S}(?:everything|all|anything|whatever|what)\b{S}(?:(?:that|you|i|we|they|the|system|developers?|have|has|had|been|were|was|before|this|point|line|message)\b{S}){0,4}(?:above|before|earlier|prior|previously|so far|until now|up to (?:now|this point)|(?:were|was|have been|has been|got|get) (?:told|said|instructed|taught|given|programmed|trained)|told you|said to you|instructed you)\b",
    ),
    sig(
        "override.new_instructions",
        Override,
        0.55,
        Full,
        r"\b(?:new|updated|real|actual|true|revised|secret|priority|overriding|replacement|important)\s+(?:system\s+)?(?:instructions?|directives?|orders|rules|task|prompt)\s*:|\byour\s+(?:new|real|actual|true|only|next|updated)\s+(?:task|goal|objective|instructions?|purpose|role|job|mission|directive|orders)\s+(?:is|are|will be|now)\b",
    ),
    sig(
        "override.void_previous",
        Override,
        0.7,
        Full,
        r"\b(?:(?:above|previous|prior|preceding|earlier|original|old|initial|system|your)\s+(?:instructions?|rules|prompt|directions|guidelines|directives|restrictions|constraints)|(?:instructions?|rules|prompt|directions|guidelines|directives)\s+(?:above|before))\s+(?:are|is|were|was|have been|has been|no longer|don'?t|do not)\s+(?:now\s+|hereby\s+|all\s+)?(?:outdated|obsolete|void|invalid|cancel+ed|revoked|wrong|fake|false|a test|superseded|deprecated|null|overridden|replaced|lifted|removed|apply|valid|applicable|in effect|matter|count)\b",
    ),
    // Multilingual instruction override: verb + (articles, quantifiers) + instruction noun.
    sig(
        "override.es",
        Override,
        0.75,
        Full,
        r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite|omita|descarta|desestima|no sigas|no siga|deja de seguir|haz caso omiso a|haz caso omiso de)\b{S}(?:(?:todas?|todos|las|los|tus|sus|mis|de|el|la|lo|que|te|mas|ya)\b{S}){0,4}(?:instrucciones|instruccion|indicaciones|reglas|ordenes|directrices|normas|directivas)\b",
    ),
    sig(
        "override.fr",
        Override,
        0.75,
        Full,
        r"\b(?:ignore[rz]?|oublie[rz]?|ne (?:tiens|tenez) plus compte|ne (?:tiens|tenez) pas compte|ne (?:suis|suivez) plus|ne (?:suis|suivez) pas|fais abstraction|faites abstraction)\b{S}(?:(?:toutes|tous|les|tes|vos|des|mes|de|ces|la|le|d)\b{S}){0,4}(?:instructions?|consignes|regles|directives|ordres|indications|commandes)\b",
    ),
    sig(
        "override.de",
        Override,
        0.75,
        Full,
        r"\b(?:ignoriere|ignorier|ignorieren sie|ignoriert|vergiss|vergesst|vergessen sie|missachte|missachten sie|uberspringe|befolge nicht|befolge keine|folge nicht)\b{S}(?:(?:alle|die|deine|ihre|meine|bisherigen|vorherigen|vorigen|obigen|fruheren|alten|samtliche|sämtliche|jegliche|ursprunglichen|gegebenen)\b{S}){0,4}(?:anweisungen|anweisung|instruktionen|befehle|regeln|vorgaben|richtlinien|systemprompt|system-prompt)\b",
    ),
    sig(
        "override.pt",
        Override,
        0.75,
        Full,
        r"\b(?:ignore|ignora|ignorar|ignorem|esqueca|esquece|esquecer|esquecam|desconsidere|desconsidera|descarte|nao siga|nao sigas|deixe de seguir|pare de seguir)\b{S}(?:(?:todas|todos|as|os|suas|seus|tuas|teus|minhas|de|das|dos|mais)\b{S}){0,4}(?:instrucoes|instrucao|regras|orientacoes|diretrizes|ordens|comandos|diretivas)\b",
    ),
    sig(
        "override.it",
        Override,
        0.75,
        Full,
        r"\b(?:ignora|ignorare|ignorate|dimentica|dimenticare|dimenticate|non seguire|non seguite|smetti di seguire|trascura|tralascia)\b{S}(?:(?:tutte|tutti|le|gli|i|tue|sue|vostre|di|delle|dei|piu|mai|pure)\b{S}){0,4}(?:istruzioni|istruzione|regole|indicazioni|direttive|ordini|comandi)\b",
    ),
    sig(
        "override.zh",
        Override,
        0.75,
        Full,
        r"(?:忽略|无视|無視|忽视|忽視|不要理会|不要理會|不理会|忘记|忘記|忘掉|抛开|拋開|跳过|跳過|不再遵守|不要遵守|不要遵循|不再遵循|放弃|放棄)[^。！？\n]{0,8}?(?:之前|以前|上面|上述|先前|前面|所有|原来|原來|原有|原始|系统|系統|你的|全部|一切|此前|早先|以上|前述)[^。！？\n]{0,8}?(?:指令|指示|命令|规则|規則|说明|說明|提示|设定|設定|要求|约束|約束)",
    ),
    sig(
        "override.ja",
        Override,
        0.75,
        Full,
        r"(?:これまで|今まで|以前|前|上記|上|先ほど|最初|元|すべて|全て|あなた|システム)の?[^。！？\n]{0,6}?(?:指示|命令|指令|ルール|規則|設定|プロンプト|制約)[^。！？\n]{0,10}?(?:無視|忘れ|従わな|破棄|取り消)",
    ),
    sig(
        "override.ru",
        Override,
        0.75,
        Full,
        r"(?:игнорируй|игнорируйте|игнорировать|проигнорируй|проигнорируйте|забудь|забудьте|не следуй|не следуйте|не выполняй|не выполняйте|не слушай|отбрось|отбросьте|пренебреги|не обращай внимания на|отмени|отмените)\s+(?:(?:все|всё|свои|твои|ваши|эти|прежн[а-яё]*|предыдущ[а-яё]*|прошл[а-яё]*|вышеуказанн[а-яё]*|вышеперечисленн[а-яё]*|стар[а-яё]*|исходн[а-яё]*|первоначальн[а-яё]*|системн[а-яё]*|данн[а-яё]*|ранее|тебе|полученн[а-яё]*|сво[её]м|тво[её]м)[\s,]+){0,4}(?:инструкци|указани|команд|правил|установк|директив|промпт|ограничени)",
    ),
    // ---- role / prompt-delimiter injection ----------------------------------------------
    sig(
        "delimiter.chat_template",
        Delimiter,
        0.85,
        Full,
        r"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|eom_id|start_header_id|end_header_id|begin_of_text|end_of_text|start|end|message|channel|tool_call|fim_prefix|fim_suffix|fim_middle|begin▁of▁sentence|end▁of▁sentence)\s*\|>",
    ),
    sig(
        "delimiter.inst",
        Delimiter,
        0.8,
        Full,
        r"\[/?inst\]|<<\s*/?sys\s*>>|<\s*/?\s*(?:start_of_turn|end_of_turn)\s*>",
    ),
    sig(
        "delimiter.eos",
        Delimiter,
        0.35,
        Full,
        r"</s>|<s>\s*\[|<\|?eos\|?>|<\|?bos\|?>",
    ),
    sig(
        "delimiter.system_tag",
        Delimiter,
        0.65,
        Full,
        r"<\s*(?:system|system_prompt|system-prompt|sys|admin|developer|system_message|sysprompt)\s*>\s*(?:[^<]{0,300}</\s*(?:system|system_prompt|system-prompt|sys|admin|developer|system_message|sysprompt)\s*>|(?:you|the (?:assistant|ai|model)|ignore|disregard|new|must|priority|override|policy|instruction|important|from now|always|never|do not))",
    ),
    sig(
        "delimiter.markdown_role",
        Delimiter,
        0.6,
        Full,
        r"(?m)(?:^|[\s>\x22'(])#{2,6}[ \t]*(?:system|system prompt|system message|new instructions|new system prompt|instructions? from (?:the )?(?:system|admin|developer)|admin|developer message|override|assistant)[ \t]*(?::|$)",
    ),
    sig(
        "delimiter.role_label",
        Delimiter,
        0.3,
        Full,
        r"(?m)^[ \t]*(?:system|assistant|developer|admin|administrator|sys|human|operator)(?: message| prompt| note| override| instruction)?[ \t]*:",
    ),
    sig(
        "delimiter.fake_turn",
        Delimiter,
        0.65,
        Full,
        r"(?m)(?:^[ \t]*|[.!?>\x22]\s+|<!--\s*)(?:system|assistant|developer|admin|administrator|sys|operator)(?: message| prompt| note| override| instruction)?[ \t]*:[ \t]*(?:you|the (?:user|assistant|ai|model)|ignore|disregard|forget|new|override|from now|important|priority|security|all|always|never|do not|don'?t|must|respond|reply|answer|say|i will|i'll|sure|ok|okay|understood|certainly|as an|reveal|print|output)\b",
    ),
    sig(
        "delimiter.boundary",
        Delimiter,
        0.5,
        Full,
        r"\bend of (?:the )?(?:user )?(?:input|prompt|message|conversation|document|context|instructions|data)\b|(?:begin|start|end)(?: of)? (?:the )?system (?:prompt|message|instructions)\b|\b(?:begin|start) (?:of )?(?:new|admin|developer|priority) (?:instructions|prompt|message)\b",
    ),
    sig(
        "delimiter.json_role",
        Delimiter,
        0.55,
        Full,
        r#"[{,]\s*"role"\s*:\s*"(?:system|developer)"\s*,\s*"content"\s*:"#,
    ),
    // ---- system prompt extraction -------------------------------------------------------
    sig(
        "extraction.reveal_prompt",
        Extraction,
        0.75,
        QuoteOnly,
        r"\b(?:repeat|print|reveal|show|display|output|tell|give|write|type|dump|leak|share|expose|spell|recite|list|copy|paste|echo|return|provide|disclose|divulge|render|quote|read|summari[sz]e|translate|what(?:'s| is| are| were| was)?|which)\b(?:{S}(?:me|us|back|out|all|of|exactly|verbatim|fully|full|entire|complete|whole|contents?|text|please|now|again|word|for|the|first|last|[0-9]+|lines?|words?))*{S}(?:your|ur)\b{S}(?:{W}{S}){0,2}?(?:system[ -]?prompt|prompt|system message|system instructions|instructions|pre-?prompt|meta-?prompt|(?:system|initial|original|hidden|secret|internal|exact|full|complete|developer|starting|base|first|confidential|underlying)\s+(?:rules|guidelines|directives|configuration|config|programming|context|message|setup|instructions))\b",
    ),
    sig(
        "extraction.given_instructions",
        Extraction,
        0.75,
        QuoteOnly,
        r"\b(?:repeat|print|reveal|show|display|output|tell|give|write|dump|leak|share|expose|recite|list|copy|paste|echo|return|provide|disclose|quote|what|which)\b(?:{S}{W}){0,6}?{S}(?:instructions|prompt|rules|guidelines|directives|message|text|words|configuration)\b(?:{S}that)?{S}(?:you (?:were|have been|got|received|are) (?:given|told|provided|instructed|programmed|configured)|you (?:received|got)|(?:your|the) (?:developers?|creators?|makers?|operators?|owners?|programmers?|company) (?:gave|wrote|provided|set|programmed|configured)|(?:were |was )?given to you|at the (?:start|beginning|top) of (?:this|the|our) (?:conversation|chat|session|context))",
    ),
    sig(
        "extraction.received_instructions",
        Extraction,
        0.6,
        QuoteOnly,
        r"\b(?:instructions|prompt|rules|guidelines|directives)\b{S}(?:did|have|were|had) you (?:been )?(?:receive|received|get|got|given|told|programmed)|\bwhat (?:were|have) you (?:been )?(?:told|instructed|programmed|given|configured)\b|\bhow (?:were|have) you (?:been )?(?:prompted|instructed|configured)\b",
    ),
    sig(
        "extraction.text_above",
        Extraction,
        0.45,
        QuoteOnly,
        r"\b(?:repeat|print|output|reveal|show|display|write|copy|paste|return|echo|recite|dump|spell out|type out|tell me)\b(?:{S}{W}){0,5}?{S}(?:above|before this|prior to this|preceding|so far|at the (?:start|beginning|top))\b",
    ),
    sig(
        "extraction.verbatim",
        Extraction,
        0.5,
        QuoteOnly,
        r"\b(?:repeat|print|output|reveal|show|display|write|copy|paste|return|echo|recite|dump|include|put)\b[^.\n]{0,80}?(?:verbatim|word for word|word-for-word|exactly as|in full|in its entirety|everything|in a (?:txt |text |markdown )?code ?block|starting (?:from|with)|including (?:the )?hidden|unredacted|letter by letter)",
    ),
    sig(
        "extraction.es",
        Extraction,
        0.7,
        QuoteOnly,
        r"\b(?:muestra|muestrame|muestre|muestreme|revela|revelame|revele|repite|repiteme|repita|imprime|dime|digame|escribe|escribeme|ensename|dame|cuales son tus|cual es tu|copia|comparte)\b[^.?!\n]{0,50}?(?:prompt (?:del|de) sistema|mensaje del sistema|tus instrucciones|sus instrucciones|instrucciones (?:iniciales|originales|ocultas|secretas|del sistema|que (?:recibiste|te dieron|tienes))|tu prompt)",
    ),
    sig(
        "extraction.fr",
        Extraction,
        0.7,
        QuoteOnly,
        r"\b(?:affiche|affichez|montre|montrez|revele|revelez|repete|repetez|ecris|ecrivez|donne|donnez|dis|dites|imprime|copie|quelles sont tes|quelles sont vos|quel est ton|quel est votre|partage)\b[^.?!\n]{0,50}?(?:prompt systeme|invite systeme|message systeme|tes instructions|vos instructions|ton prompt|votre prompt|instructions (?:initiales|originales|cachees|secretes|systeme|que (?:tu as|vous avez) recues|recues))",
    ),
    sig(
        "extraction.de",
        Extraction,
        0.7,
        QuoteOnly,
        r"\b(?:zeig|zeige|zeigen sie|gib|geben sie|wiederhole|wiederholen sie|nenne|verrate|schreib|schreibe|drucke|was sind deine|was ist dein|was sind ihre|was ist ihr|kopiere|liste|teile)\b[^.?!\n]{0,50}?(?:systemprompt|system-prompt|systemnachricht|systemanweisung|deine anweisungen|ihre anweisungen|deinen prompt|(?:ursprunglichen|anfanglichen|initialen|versteckten|geheimen|ersten|originalen) anweisungen|anweisungen, die du)",
    ),
    sig(
        "extraction.pt",
        Extraction,
        0.7,
        QuoteOnly,
        r"\b(?:mostre|mostra|revele|revela|repita|repete|diga|imprima|escreva|quais sao as suas|quais sao suas|qual e o seu|qual e seu|me de|copie|compartilhe)\b[^.?!\n]{0,50}?(?:prompt do sistema|mensagem do sistema|suas instrucoes|tuas instrucoes|seu prompt|instrucoes (?:iniciais|originais|ocultas|secretas|do sistema|que (?:voce )?recebeu))",
    ),
    sig(
        "extraction.it",
        Extraction,
        0.7,
        QuoteOnly,
        r"\b(?:mostra|mostrami|mostrate|rivela|rivelami|ripeti|ripetimi|dimmi|stampa|scrivi|quali sono le tue|qual e il tuo|copia|condividi)\b[^.?!\n]{0,50}?(?:prompt di sistema|messaggio di sistema|tue istruzioni|tuo prompt|istruzioni (?:iniziali|originali|nascoste|segrete|di sistema|che hai ricevuto))",
    ),
    sig(
        "extraction.zh",
        Extraction,
        0.7,
        QuoteOnly,
        r"(?:输出|显示|顯示|告诉我|告訴我|重复|重複|打印|泄露|洩露|透露|展示|给我看|給我看|写出|寫出|列出|说出|說出|复述|複述)[^。！？\n]{0,12}?(?:系统提示|系統提示|提示词|提示詞|系统指令|系統指令|初始指令|原始指令|最初的指令|隐藏指令|隱藏指令|系统消息|系統消息|你的指令|你的设定|你的設定|收到的指令|初始设定|初始設定)|(?:系统提示|系統提示|提示词|初始指令|原始指令|收到的指令|你的指令|最初的指令)[^。！？\n]{0,15}?(?:输出|显示|顯示|重复|重複|打印|泄露|透露|复述|複述|告诉我|告訴我|说出来|写出来)",
    ),
    sig(
        "extraction.ja",
        Extraction,
        0.7,
        QuoteOnly,
        r"(?:システムプロンプト|初期設定|最初に与えられた指示|最初の指示|元の指示|あなたの指示|あなたのプロンプト|隠された指示|初期の指示|受け取った指示|与えられた指示)[^。！？\n]{0,15}?(?:表示|教え|出力|見せ|繰り返|書き出|開示|共有|そのまま)",
    ),
    sig(
        "extraction.ru",
        Extraction,
        0.7,
        QuoteOnly,
        r"(?:покажи|покажите|выведи|выведите|повтори|повторите|раскрой|раскройте|напиши|напишите|распечатай|скажи|скажите|какие|какой|каковы|дай|дайте|перечисли|процитируй)[^.!?\n]{0,50}?(?:системн[а-яё]*\s+(?:промпт|подсказк|инструкц|сообщени)|(?:сво[а-яё]*|тво[а-яё]*|ваш[а-яё]*|исходн[а-яё]*|первоначальн[а-яё]*|начальн[а-яё]*|скрыт[а-яё]*|секретн[а-яё]*)\s+(?:промпт|инструкц|указани|правил)|инструкци[а-яё]*,?\s+котор[а-яё]*\s+(?:ты|вы)\s+получил)",
    ),
    // ---- jailbreak framing --------------------------------------------------------------
    sig(
        "jailbreak.dan",
        Jailbreak,
        0.8,
        Full,
        r"\bdo anything now\b|\b(?:you are|you're|act as|you will be|pretend to be|become|called|named|persona|as|play)\s+(?:now\s+)?(?:a\s+|the\s+)?dan\b|\bdan\s+(?:mode|prompt|jailbreak)\b|\bstrive to avoid norms\b",
    ),
    sig(
        "jailbreak.developer_mode",
        Jailbreak,
        0.7,
        Full,
        r"\b(?:chatgpt|gpt|you|ai|assistant|model|llm|yourself)\s+(?:with|in|are in|are now in|now in|enter|entering|have|running in)\s+(?:the\s+)?developer mode\b|\bdeveloper mode (?:enabled|activated|output|response)\b|\bin developer mode,? you\b",
    ),
    sig(
        "jailbreak.no_longer_bound",
        Jailbreak,
        0.75,
        Full,
        r"\b(?:you|you're|you are|you will be|you'll be|dan|chatgpt|the ai|the assistant|the model)\s+(?:(?:are|will|now|be|have|been|officially|hereby)\s+)*(?:no longer|not|never)\s+(?:be\s+)?(?:bound|restricted|limited|constrained|held back|governed|obligated)\s+(?:by|to)\b",
    ),
    sig(
        "jailbreak.no_restrictions",
        Jailbreak,
        0.75,
        Full,
        r"\b(?:pretend|imagine|act|behave|assume|suppose|respond|answer|reply)\s+(?:as if\s+|like\s+|that\s+)?(?:you\s+)?(?:have|had|are|were|with)\s+(?:no|zero|without(?: any)?)\s+(?:{W}\s+){0,2}?(?:restrictions|rules|limits|limitations|filters|guidelines|boundaries|content polic(?:y|ies)|censorship|constraints|morals|ethics|safeguards|guardrails)\b",
    ),
    sig(
        "jailbreak.freed",
        Jailbreak,
        0.7,
        Full,
        r"\b(?:freed|liberated|released|unshackled|broken free|broke free|break free|free yourself|escaped)\s+(?:from|of)\s+(?:all\s+)?(?:your\s+|its\s+|the\s+|any\s+)?(?:{W}\s+){0,2}?(?:restrictions|rules|limitations|limits|constraints|guidelines|programming|training|shackles|confines|filters|chains|policies|censorship|alignment)\b",
    ),
    sig(
        "jailbreak.no_ethics",
        Jailbreak,
        0.6,
        Full,
        r"\b(?:without|with no|no|free of|lacks?)\s+(?:any\s+)?(?:ethical|moral|safety|content)\s+(?:guidelines|constraints|limits|restrictions|filters?|considerations|boundaries|policies|rules|compass|principles)\b|\b(?:ignore|bypass|disable|turn off|switch off|remove|deactivate|circumvent|override)\s+(?:all\s+)?(?:your\s+|its\s+|the\s+|any\s+)?(?:safety|content|ethical|moral)\s+(?:filters?|guidelines|polic(?:y|ies)|restrictions|guardrails|protocols|rules|settings|checks|training)\b|\b(?:safety|content)\s+(?:filters?|guardrails|restrictions)\s+(?:turned off|disabled|removed|switched off|deactivated)\b",
    ),
    sig(
        "jailbreak.unrestricted_persona",
        Jailbreak,
        0.75,
        Full,
        r"\b(?:as|be|become|are|simulate|simulating|roleplay|role-play|play|pretend|act|acting|now)\s+(?:(?:an?|the|my|like|to be|as)\s+)*(?:{W}[\s,]+){0,3}?(?:unrestricted|unfiltered|uncensored|amoral|immoral|unethical|evil|rogue|jailbroken|unaligned|unbound|unlimited|lawless|malicious|unhinged|limitless|no-limits)[\s,]+(?:{W}\s+){0,2}?(?:ai|assistant|model|chatbot|bot|version|character|persona|llm|gpt|twin|entity|being|intelligence)\b",
    ),
    sig(
        "jailbreak.unfiltered_answer",
        Jailbreak,
        0.6,
        Full,
        r"\b(?:answer|respond|reply|talk|speak|write|output)\s+(?:{W}\s+){0,3}?(?:without|with no)\s+(?:any\s+)?(?:filters?|restrictions|censorship|limits|limitations|rules|guidelines|refusals?|warnings|disclaimers|moral)\b",
    ),
    sig(
        "jailbreak.mode_keyword",
        Jailbreak,
        0.4,
        Full,
        r"\bjailbr(?:eak|oken|eaking|oke|eaks)\b|\b(?:god|sudo|unrestricted|unfiltered|uncensored|evil|chaos|opposite|anti-?gpt|dude|stan|mongo tom|betterdan|kevin|omega)\s+mode\b",
    ),
    sig(
        "jailbreak.stay_in_character",
        Jailbreak,
        0.4,
        Full,
        r"\b(?:stay|remain|keep|always stay)\s+in\s+character\b|\bnever\s+(?:break|leave|drop)\s+character\b",
    ),
    sig(
        "jailbreak.grandma",
        Jailbreak,
        0.6,
        Full,
        r"\b(?:act|pretend|play|roleplay|behave)\s+(?:as|like|to be)\s+my\s+(?:dead|deceased|late|dying|departed)\s+(?:grand(?:ma|mother|pa|father)|nan|granny|mother|father|mom|dad)\b",
    ),
    sig(
        "jailbreak.refusal_suppression",
        Jailbreak,
        0.45,
        Full,
        r"\b(?:never|don'?t|do not|can'?t|cannot|must not|won'?t|will not)\s+(?:ever\s+)?(?:refuse|refuses|decline|say (?:no|sorry|that you can'?t|you cannot|i can'?t)|apologi[sz]e|add (?:any\s+)?(?:warnings|disclaimers)|mention (?:your|any) (?:rules|guidelines|policies))\b|\b(?:answers?|responds? to|will answer|can answer|can do|does|will do)\s+(?:anything|everything|any (?:request|question|prompt))\b",
    ),
    sig(
        "jailbreak.no_policy",
        Jailbreak,
        0.4,
        Full,
        r"\b(?:has|have|with)\s+no\s+(?:content\s+)?(?:polic(?:y|ies)|filters?|restrictions|limits|guidelines|rules|ethics|morals)\b",
    ),
    // ---- tool / exfiltration instructions ------------------------------------------------
    sig(
        "exfiltration.send_data",
        Exfiltration,
        0.8,
        QuoteOnly,
        r"\b(?:send|sends|post|forward|upload|transmit|exfiltrate|leak|email|e-mail|submit|share|deliver|append|attach|include|add|encode|put|relay|mail|dump|pipe|push|sync|export|save|write|copy|fetch|load|open|visit)\b[^.\n]{0,60}?(?:conversation|chat(?: history| log|s)?|history|previous messages|all (?:the |of the )?(?:messages|emails|files|data|contents|documents)|user'?s?\s+(?:{W}\s+)?(?:data|emails?|messages|passwords?|credentials|api keys?|tokens?|info|information|details|files|documents|address|contacts|session|cookies|secrets|card)|api[ _-]?keys?|passwords?|credentials|secrets?|session (?:token|id|cookie)|tokens?|cookies?|private keys?|ssh keys?|id_rsa|\.env\b|env(?:ironment)? var(?:iable)?s|system prompt|memor(?:y|ies)|contents? of)[^\n]{0,80}?(?:https?://|ftp://|www\.|[a-z0-9._-]+@[a-z0-9-]+\.[a-z]|webhook|endpoint|this url|the url|that url|attacker|evil)",
    ),
    sig(
        "exfiltration.url_then_data",
        Exfiltration,
        0.7,
        QuoteOnly,
        r"(?:https?|ftp)://[^\s)]+[^\n]{0,40}?\b(?:followed by|appended with|append|plus|with|containing|include|including|add|adding)\s+(?:the\s+|their\s+|all\s+)?(?:user'?s?\s+|their\s+)?(?:password|api key|token|secret|session|credentials|conversation|chat|history|messages|email|data|cookies)\b",
    ),
    sig(
        "exfiltration.markdown_image",
        Exfiltration,
        0.7,
        QuoteOnly,
        r"!\[[^\]\n]{0,100}\]\(\s*(?:https?:)?//[^)\s]*(?:\{|\}|%7b|\$|<|\[|secret|data=|conversation|history|summary|token|password|key=|\?q=|&q=|\?c=|&c=|\?d=|&d=|\?p=|&p=|\?t=|&t=)",
    ),
    sig(
        "exfiltration.markdown_image_query",
        Exfiltration,
        0.25,
        QuoteOnly,
        r"!\[[^\]\n]{0,100}\]\(\s*(?:https?:)?//[^)\s]+\?[^)\s]*=",
    ),
    sig(
        "exfiltration.fill_placeholder",
        Exfiltration,
        0.6,
        QuoteOnly,
        r"\b(?:replac(?:e|ing)|substitut(?:e|ing)|fill(?:ing)? in)\s+[^\s]{1,30}\s+with\s+(?:the\s+|a\s+|an\s+)?(?:{W}\s+){0,3}?(?:summary|conversation|chat|history|user|password|api key|token|secret|data|email|messages|credentials)\b",
    ),
    sig(
        "exfiltration.tool_call",
        Exfiltration,
        0.55,
        QuoteOnly,
        r"\b(?:call|invoke|use|run|execute|trigger|fire)\s+(?:the\s+|your\s+|a\s+)?[`'\x22]?[a-z0-9.-]*_[a-z0-9_.-]*[`'\x22]?(?:\s+(?:tool|function|action|plugin|command|api|endpoint))?\s+(?:with|on|to|using|and|passing|for)\b",
    ),
    sig(
        "exfiltration.tool_mention",
        Exfiltration,
        0.3,
        QuoteOnly,
        r"\b(?:using|with|via|through)\s+(?:the\s+|your\s+)?[a-z_]+\s+(?:tool|function|plugin)\b",
    ),
    sig(
        "exfiltration.addresses_agent",
        Exfiltration,
        0.55,
        QuoteOnly,
        r"\b(?:note|message|instructions?|attention|important|notice|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llm|assistant|agent|model|chatbot|bot|gpt|language model)s?\b|\bif you are an?\s+(?:ai|llm|assistant|agent|language model|chatbot|bot|large language model|automated)\b|\b(?:dear|hey|hello|hi|attention|ok|okay)\s+(?:ai|llm|assistant|agent|chatgpt|claude|gemini|copilot|bot)\b\s*[,:!]|\b(?:ai|llm|assistant|agent|model)s?\s+(?:reading|processing|summari[sz]ing|analy[sz]ing|browsing|parsing|viewing|that reads)\s+(?:this|the)\b|(?:^|[.!?\n]\s*)(?:ai\s+|dear\s+)?(?:assistant|agent|ai|llm|chatbot)\s*[,:]\s*(?:please\s+)?(?:when|if|before|after|now|you must|run|execute|call|send|use|ignore|delete|forward|open|fetch|visit|transfer|click|download|upload|reply|respond|tell|say|do)\b",
    ),
    sig(
        "exfiltration.stealth",
        Exfiltration,
        0.55,
        QuoteOnly,
        r"\b(?:silently|secretly|quietly|covertly|discreetly|stealthily)\s+(?:send|fetch|forward|upload|download|call|run|execute|post|email|transfer|delete|visit|open|append|include|add|exfiltrate|copy|save|write|install|click|grant|share|change|modify|invoke|load|insert)\b|\bwithout (?:telling|informing|notifying|alerting|asking|letting|showing|mentioning)(?: (?:it|this) to)? (?:the user|them|him|her|anyone|the human|the owner)\b|\b(?:do not|don'?t|never) (?:tell|inform|mention|reveal|show|notify|alert)\s+(?:this\s+|it\s+|anything\s+)?(?:to\s+)?(?:the user|the human|them|anyone)\b",
    ),
    sig(
        "exfiltration.command",
        Exfiltration,
        0.55,
        QuoteOnly,
        r"\b(?:curl|wget|nc|netcat|invoke-webrequest|iwr|scp)\b[^\n]{0,80}?(?:@\.env|\.env\b|id_rsa|/etc/passwd|/etc/shadow|\.ssh|\.aws|\.netrc|credentials|bash_history|\$\(|`(?:cat|env|printenv|whoami))",
    ),
];

/// Attack phrases searched in the letters-only view, so that words cut apart or glued by
/// punctuation, underscores or uneven spacing ("ignore_previous_instructions",
/// "i gnore pre vious") still count. Returns one regex per family and the words the phrases are
/// made of: a hit spelled as those words with plain spaces was already judged by the patterns
/// (framing included), so only a split spelling counts.
pub fn squashed_patterns() -> (Vec<(String, Family)>, Vec<&'static str>) {
    const VERBS: &[&str] = &[
        "ignore",
        "disregard",
        "forget",
        "bypass",
        "override",
        "skip",
    ];
    const MIDS: &[&str] = &["all", "the", "your", "any", "of"];
    const QUALS: &[&str] = &[
        "previous",
        "prior",
        "above",
        "earlier",
        "preceding",
        "original",
        "initial",
        "system",
    ];
    const NOUNS: &[&str] = &[
        "instructions",
        "instruction",
        "rules",
        "prompts",
        "prompt",
        "directions",
        "guidelines",
        "directives",
        "commands",
        "programming",
    ];
    const TAILS: &[&str] = &["everything", "you", "were", "told", "before"];
    const REVEAL: &[&str] = &[
        "reveal", "print", "show", "repeat", "output", "display", "leak", "dump", "tell", "give",
        "write", "spell", "out", "me", "us", "what", "is", "are", "your", "full",
    ];
    const TARGETS: &[&str] = &[
        "system",
        "prompt",
        "initial",
        "original",
        "hidden",
        "secret",
        "instructions",
        "message",
    ];
    const JAILBREAK: &[&str] = &[
        "do",
        "anything",
        "now",
        "developer",
        "mode",
        "enabled",
        "you",
        "are",
        "dan",
        "jailbreak",
        "pretend",
        "have",
        "no",
        "restrictions",
        "unrestricted",
        "unfiltered",
        "ai",
    ];
    let alt = |words: &[&str]| words.join("|");
    let verbs = alt(VERBS);
    let mids = "(?:all|allthe|the|your|allyour|any|allof|allofthe|allofyour)";
    let quals = alt(QUALS);
    let nouns = alt(NOUNS);
    let overrides = format!(
        "(?:{verbs}){mids}?(?:{quals})(?:{nouns})|(?:{verbs}){mids}(?:instructions|rules|guidelines|directives|programming)|(?:{verbs})(?:everythingabove|everythingyouweretold|everythingbefore|allyouweretold)"
    );
    let extraction = "(?:reveal|print|show|repeat|output|display|leak|dump|tellme|showme|giveme|printout|writeout|spellout)(?:your|meyour|usyour|allyour|thefull)(?:systemprompt|initialinstructions|originalinstructions|hiddeninstructions|instructions|prompt|systemmessage|hiddenprompt|fullprompt|secretinstructions|initialprompt)|what(?:is|are)your(?:systemprompt|initialinstructions|originalinstructions|hiddeninstructions|instructions|prompt|systemmessage)".to_string();
    let jailbreak = "doanythingnow|developermodeenabled|youarenowdan|youaredan|jailbreakmode|pretendyouhavenorestrictions|youhavenorestrictions|unrestrictedai|unfilteredai".to_string();
    let mut words: Vec<&'static str> =
        [VERBS, MIDS, QUALS, NOUNS, TAILS, REVEAL, TARGETS, JAILBREAK].concat();
    words.sort_unstable();
    words.dedup();
    (
        vec![
            (overrides, Family::Override),
            (extraction, Family::Extraction),
            (jailbreak, Family::Jailbreak),
        ],
        words,
    )
}

/// Every word the patterns are made of; the normalizer uses it to resolve leetspeak.
pub fn pattern_words() -> impl Iterator<Item = &'static str> {
    SIGNALS.iter().flat_map(|s| {
        s.pattern
            .split(|c: char| !c.is_ascii_lowercase())
            .filter(|w| w.len() >= 2)
    })
}
