"""What the synthetic patients and clinicians write: phrase tables for ``make_sample_data.py``.

Each phrase is ``"en | zh | es"``; tables are keyed by question family (parent) and the option's
English name, with the weights used to draw gold answers.
"""

from __future__ import annotations

# --- what patients write: "en | zh | es", keyed by parent and the option's English name ---------
SITE_WORDS = {
    "head": ["on my face | 脸上 | en la cara", "on my scalp | 头皮上 | en el cuero cabelludo",
             "on my forehead | 额头上 | en la frente"],
    "neck": ["on my neck | 脖子上 | en el cuello", "on the side of my neck | 脖子侧面 | en el cuello"],
    "upper extremities": ["on my forearm | 前臂上 | en el antebrazo", "on my arm | 胳膊上 | en el brazo",
                          "on the back of my hand | 手背上 | en el dorso de la mano",
                          "on my fingers | 手指上 | en los dedos"],
    "lower extremities": ["on my shin | 小腿上 | en la espinilla", "on my thigh | 大腿上 | en el muslo",
                          "on my foot | 脚上 | en el pie", "around my ankle | 脚踝周围 | en el tobillo"],
    "chest/abdomen": ["on my chest | 胸口 | en el pecho", "on my belly | 肚子上 | en la barriga"],
    "back": ["on my back | 背上 | en la espalda", "on my lower back | 腰上 | en la zona lumbar"],
    "other (please specify)": ["in the groin | 腹股沟 | en la ingle"],
}
SITE_FRAMES = ["There is a rash {}. | {}长了皮疹。 | Tengo un sarpullido {}.",
               "I have a patch {}. | {}有一块斑。 | Tengo una mancha {}.",
               "Something came up {}. | {}出现了东西。 | Me salió algo {}."]
COLOUR_WORDS = {
    "normal skin color": ["skin-coloured | 肤色的 | del color de la piel"],
    "pink": ["pink | 粉红色的 | rosado", "pinkish | 淡粉色的 | rosáceo"],
    "red": ["red | 红色的 | rojo", "reddish | 发红的 | rojizo", "bright red | 鲜红的 | rojo vivo"],
    "brown": ["brown | 褐色的 | marrón", "dark brown | 深褐色的 | marrón oscuro"],
    "blue": ["bluish | 发蓝的 | azulado"],
    "purple": ["purple | 紫色的 | morado", "purplish | 紫红色的 | violáceo"],
    "black": ["black | 黑色的 | negro"],
    "white": ["white | 白色的 | blanco", "whitish | 发白的 | blanquecino"],
    "combination (please specify)": ["red with brown edges | 红中带褐的 | rojo con bordes marrones"],
    "hyperpigmentation": ["darker than my skin | 比周围皮肤深的 | más oscuro que mi piel"],
    "hypopigmentation": ["lighter than my skin | 比周围皮肤浅的 | más claro que mi piel"],
}
COLOUR_FRAMES = ["It looks {}. | 看起来是{}。 | Se ve {}.",
                 "The spots are {}. | 斑点是{}。 | Las manchas son de tono {}.",
                 "The colour is {}. | 颜色是{}。 | El color es {}."]
SENTENCES = {
    "CQID010": {
        "single spot": ["Only one small spot is affected. | 只有一个小点。 | Solo hay un punto."],
        "limited area": ["It's only a small area. | 只有一小片。 | Es solo una zona pequeña.",
                         "It stays in one area. | 只在一个地方。 | Se queda en una zona."],
        "widespread": ["It's all over my body. | 全身都有。 | Lo tengo por todo el cuerpo.",
                       "It has spread everywhere. | 已经蔓延到全身。 | Se ha extendido por todas partes."]},
    "CQID012": {
        "size of thumb nail": ["It's about the size of a thumbnail. | 大约指甲盖大小。 | Es como una uña.",
                               "It's as small as a coin. | 像硬币那么小。 | Es pequeña como una moneda."],
        "size of palm": ["It's about the size of my palm. | 大约手掌大小。 | Es del tamaño de mi palma.",
                         "It's as big as my hand. | 有手那么大。 | Es tan grande como mi mano."],
        "larger area": ["It covers a large area. | 面积很大。 | Cubre una zona grande.",
                        "It's bigger than my hand. | 比手掌还大。 | Es más grande que mi mano."]},
    "CQID015": {
        "within hours": ["It appeared a few hours ago. | 几个小时前出现的。 | Apareció hace unas horas.",
                         "It showed up this morning. | 今天早上出现的。 | Salió esta mañana."],
        "within days": ["It started 3 days ago. | 三天前开始的。 | Empezó hace 3 días.",
                        "I noticed it yesterday. | 昨天发现的。 | Lo noté ayer.",
                        "It has been there for a few days. | 已经有几天了。 | Lleva unos días."],
        "within weeks": ["I've had it for about two weeks. | 大概两周了。 | Lo tengo hace dos semanas.",
                         "It started last week. | 上周开始的。 | Empezó la semana pasada."],
        "within months": ["It began a couple of months ago. | 几个月前开始的。 | Comenzó hace meses.",
                          "It has been there since last summer. | 从去年夏天开始。 | Está desde el verano."],
        "over a year": ["It's been more than a year. | 一年多了。 | Hace más de un año.",
                        "I first noticed it over a year ago. | 一年多前发现的。 | Lo noté hace más de un año."],
        "multiple years": ["I've had it for years. | 好几年了。 | Lo tengo desde hace años.",
                           "It has bothered me for over 10 years. | 这病十多年了。 | Me molesta hace 10 años."]},
    "CQID020": {
        "raised or bumpy": ["It's raised and bumpy. | 凸起来，疙疙瘩瘩的。 | Está elevado y con bultos."],
        "flat": ["It's flat, not raised. | 是平的，不凸起。 | Es plano, no está elevado."],
        "skin loss or sunken": ["The skin looks sunken. | 皮肤有凹陷。 | La piel se ve hundida."],
        "thick or raised": ["The skin has become thick. | 皮肤变厚了。 | La piel se ha engrosado."],
        "thin or close to the surface": ["The skin there is thin. | 那里皮肤很薄。 | La piel es fina."],
        "warty": ["It looks like a wart. | 看起来像疣。 | Parece una verruga."],
        "crust": ["There is a yellow crust on it. | 上面有黄色的痂皮。 | Tiene una costra amarilla."],
        "scab": ["It scabbed over. | 结痂了。 | Se formó una postilla."],
        "weeping": ["It oozes clear fluid. | 会流出清水。 | Supura un líquido claro."]},
    "CQID025": {
        "yes": ["It itches like crazy. | 痒得厉害。 | Me pica muchísimo.",
                "It is very itchy at night. | 晚上特别痒。 | Pica mucho por la noche.",
                "The itching is driving me mad. | 痒得受不了。 | El picor me vuelve loco."],
        "no": ["No itching at all. | 一点也不痒。 | No pica nada.", "It doesn't itch. | 不痒。 | No me pica.",
               "It's not itchy or painful. | 不痒也不疼。 | No pica ni duele."]},
    "CQID035": {
        "single": ["It's a single spot. | 只有一个。 | Es una sola mancha.",
                   "Just one bump. | 就一个包。 | Solo un bulto."],
        "multiple (please specify)": ["There are lots of spots. | 有很多小点。 | Hay muchas manchas.",
                                      "Several of them appeared. | 出现了好几个。 | Aparecieron varias."]},
    "CQID036": {
        "smooth": ["The surface is smooth. | 表面光滑。 | La superficie es lisa.",
                   "It feels smooth to the touch. | 摸起来很光滑。 | Al tacto es suave."],
        "rough": ["It is rough and scaly. | 摸起来粗糙有鳞屑。 | Es áspera y escamosa.",
                  "It flakes and peels. | 会脱皮掉屑。 | Se descama."]},
}
DISTRACTORS = [
    "I tried hydrocortisone cream but it did not help. | 用过氢化可的松乳膏，没效果。 | Probé hidrocortisona.",
    "Is it contagious? | 会传染吗？ | ¿Es contagioso?",
    "I'm worried it might be cancer. | 我担心是癌症。 | Me preocupa que sea cáncer.",
    "The clinic said it was eczema. | 诊所说是湿疹。 | En la clínica dijeron que era eccema.",
    "I used an antifungal ointment for a week. | 用了一周抗真菌药膏。 | Usé una pomada antifúngica.",
    "What medicine should I use? | 应该用什么药？ | ¿Qué medicamento debo usar?",
    "It gets worse after a hot shower. | 洗热水澡后加重。 | Empeora tras una ducha caliente.",
    "Nobody else in my family has it. | 家里其他人没有。 | Nadie más en mi familia lo tiene."]
TITLES = ["What is this rash? | 这是什么皮疹？ | ¿Qué es este sarpullido?",
          "Please help, what skin disease is this? | 请帮忙看看这是什么皮肤病？ | ¿Qué enfermedad es ésta?",
          "Is this eczema? | 是湿疹吗？ | ¿Es eccema?", "Strange spots on my skin | 皮肤上奇怪的斑 | Manchas raras",
          "How do I treat this? | 这个怎么治？ | ¿Cómo se trata esto?"]
DIAGNOSES = ["eczema | 湿疹 | eccema", "psoriasis | 银屑病 | psoriasis", "tinea | 体癣 | tiña",
             "contact dermatitis | 接触性皮炎 | dermatitis de contacto", "urticaria | 荨麻疹 | urticaria",
             "vitiligo | 白癜风 | vitíligo", "lichen planus | 扁平苔藓 | liquen plano",
             "seborrheic keratosis | 脂溢性角化病 | queratosis seborreica"]
ADVICE = ["Use a moisturiser. | 多用保湿霜。 | Use una crema hidratante.",
          "Apply a mild steroid cream twice a day. | 外用弱效激素药膏。 | Aplique un corticoide suave.",
          "Try an antifungal cream for two weeks. | 外用抗真菌药膏两周。 | Pruebe una crema antifúngica.",
          "A biopsy is recommended. | 建议做病理检查。 | Se recomienda una biopsia.",
          "Avoid scratching. | 避免搔抓。 | Evite rascarse."]
REPLY_FRAMES = ["Looks like {d}. {a} | 像是{d}。{a} | Parece {d}. {a}",
                "Consider {d}. | 考虑{d}。 | Considere {d}.",
                "Most likely {d}. {a} | 很可能是{d}。{a} | Lo más probable es {d}. {a}",
                "The itching suggests {d}. {a} | 瘙痒提示{d}。{a} | El picor sugiere {d}. {a}"]

# --- how answers are distributed (option names as in the definitions file) ----------------------
WEIGHTS: dict[str, dict[str, float]] = {
    "CQID011": {"head": .18, "neck": .07, "upper extremities": .28, "lower extremities": .22,
                "chest/abdomen": .1, "back": .1, "other (please specify)": .05},
    "CQID012": {"size of thumb nail": .4, "size of palm": .35, "larger area": .25},
    "CQID015": {"within hours": .04, "within days": .2, "within weeks": .22, "within months": .2,
                "over a year": .14, "multiple years": .2},
    "CQID020": {"raised or bumpy": .25, "flat": .15, "skin loss or sunken": .05, "thick or raised": .15,
                "thin or close to the surface": .05, "warty": .05, "crust": .1, "scab": .1,
                "weeping": .1},
    "CQID025": {"yes": .6, "no": .4},
    "CQID034": {"normal skin color": .03, "pink": .12, "red": .27, "brown": .12, "blue": .01,
                "purple": .07, "black": .02, "white": .08, "combination (please specify)": .14,
                "hyperpigmentation": .08, "hypopigmentation": .06},
}
MENTION_P = {"CQID010": .35, "CQID011": .65, "CQID012": .35, "CQID015": .6, "CQID020": .4,
             "CQID025": .65, "CQID034": .55, "CQID035": .55, "CQID036": .5}
# Chance that the gold is a real answer (judged from the images) when the text is silent.
SILENT_REAL_P = {"CQID010": .8, "CQID011": .7, "CQID012": .5, "CQID015": .1, "CQID020": .45,
                 "CQID025": .05, "CQID034": .35, "CQID035": .5, "CQID036": .25}
