/**
 * Decoded SunSpec dumps of real devices as `evcc sunspec` printed them in public issues, verbatim
 * (the files of test/fixtures/sunspec, sources in its SOURCES.md; test/drivers/sunspec/recorded.test.ts
 * keeps the two equal). Each was posted cut off after the points shown: recorded.ts encodes what
 * is there, and what is not answers exception 2.
 * - kostal-plenticore-plus8: Kostal Plenticore plus 8, unit 71 on port 1502, model 103
 *   (https://github.com/evcc-io/evcc/issues/31535).
 * - solaredge-se4000h: SolarEdge SE4000H, model 101 with W_SF −2 and Hz_SF −3
 *   (https://github.com/evcc-io/evcc/issues/16794).
 * - fronius-symo-float: Fronius Symo 8.2-3-M in float mode, model 113
 *   (https://github.com/evcc-io/evcc/issues/16924).
 * - fronius-symo-5-int-sf: Fronius Symo 5.0-3-M in int+SF mode, model 103 with V_SF/W_SF −2 and
 *   "not implemented" SFs (https://github.com/evcc-io/evcc/issues/16924, another comment).
 * - fronius-smart-meter-float: a Fronius Smart Meter (Md "Smart Meter TS 6"), unit 201,
 *   meter model 213 (float), cut before W (https://github.com/evcc-io/evcc/issues/19905).
 */
export const SUNSPEC_RECORDINGS = {
  'kostal-plenticore-plus8': `~$ evcc sunspec 192.168.178.56:1502 -i 71
--------- Model 1 common ---------
Mn             KOSTAL    string
Md   PLENTICORE plus8    string
Opt                      string
Vr           01.30.12    string
SN      90523TD90001R    string
DA              71.00    uint16
Pad            0x5a5a    pad
--------- Model 103 inverter_three_phase ---------
A                    4.29    uint16
AphA                 1.46    uint16
AphB                 1.37    uint16
AphC                 1.45    uint16
A_SF                   -2    sunssf
PPVphAB               n/a    uint16
PPVphBC               n/a    uint16
PPVphCA               n/a    uint16
PhVphA             228.60    uint16
PhVphB             229.10    uint16
PhVphC             227.40    uint16
V_SF                   -1    sunssf
W                  940.00    int16
W_SF                    0    sunssf
Hz                  49.99    uint16
Hz_SF                  -2    sunssf
VA                 978.00    int16
VA_SF                   0    sunssf
VAr                272.00    int16
VAr_SF                  0    sunssf
PF                   1.00    int16
PF_SF                  -3    sunssf
WH            56985670.00    acc32
WH_SF                   0    sunssf
DCA                   n/a    uint16
DCA_SF
`,
  'solaredge-se4000h': `/app # evcc sunspec 192.168.10.6:528 -i 5
[main  ] INFO 2024/10/23 14:53:52 evcc 0.130.13
--------- Model 1 common ---------
Mn         SolarEdge     string
Md   SE4000H-RW000BEN    string
Opt                      string
Vr           0004.002    string
SN           75032C20    string
DA               5.00    uint16
Pad            0x0065    pad
--------- Model 101 inverter ---------
A                    0.47    uint16
AphA                 0.47    uint16
AphB                  n/a    uint16
AphC                  n/a    uint16
A_SF                   -2    sunssf
PPVphAB            236.70    uint16
PPVphBC               n/a    uint16
PPVphCA               n/a    uint16
PhVphA             236.70    uint16
PhVphB                n/a    uint16
PhVphC                n/a    uint16
V_SF                   -1    sunssf
W                   68.15    int16
W_SF                   -2    sunssf
Hz                  49.98    uint16
Hz_SF                  -3    sunssf
VA                 112.45    int16
VA_SF                  -2    sunssf
VAr                 89.45    int16
VAr_SF                 -2    sunssf
PF                  60.60    int16
PF_SF                  -2    sunssf
WH             3039209.00    acc32
WH_SF                   0    sunssf
DCA                  0.19    uint16
DCA_SF
`,
  'fronius-symo-float': `evcc sunspec 192.168.28.16:502 --id 1
[main  ] INFO 2024/10/28 16:45:28 evcc 0.131.2
--------- Model 1 common ---------
Mn            Fronius    string
Md       Symo 8.2-3-M    string
Opt          3.31.1-5    string
Vr           0.3.30.1    string
SN           31329509    string
DA               1.00    uint16
Pad            0x0071    pad
--------- Model 113 inverter ---------
A                    0.75    float32
AphA                 0.25    float32
AphB                 0.25    float32
AphC                 0.25    float32
PPVphAB             399.4    float32
PPVphBC         398.80002    float32
PPVphCA         397.80002    float32
PhVphA              230.6    float32
PhVphB              229.6    float32
PhVphC          230.40001    float32
W                     177    float32
Hz                     50    float32
VA                    177    float32
VAr                     0    float32
PF                    100    float32
WH              2.632e+07    float32
DCA                   n/a    float32
DCV                   n/a    float32
DCW                193.84    float32
TmpCab                n/a    float32
TmpSnk                n/a    float32
TmpTrns               n/a    float32
TmpOt                 n/a    float32
St                      4    enum16
StVnd                   4    enum16
Evt1
`,
  'fronius-symo-5-int-sf': `[main  ] INFO 2024/10/28 14:48:38 evcc 0.131.2
--------- Model 1 common ---------
Mn            Fronius    string
Md       Symo 5.0-3-M    string
Opt          3.31.1-7    string
Vr           0.3.30.1    string
SN           28093020    string
DA               1.00    uint16
Pad            0x0067    pad
--------- Model 103 inverter ---------
A                    0.00    uint16
AphA                 0.00    uint16
AphB                 0.00    uint16
AphC                 0.00    uint16
A_SF                   -2    sunssf
PPVphAB              0.00    uint16
PPVphBC              0.00    uint16
PPVphCA              0.00    uint16
PhVphA               0.00    uint16
PhVphB               0.00    uint16
PhVphC               0.00    uint16
V_SF                   -2    sunssf
W                    0.00    int16
W_SF                   -2    sunssf
Hz                   0.00    uint16
Hz_SF                  -2    sunssf
VA                    n/a    int16
VA_SF                 n/a    sunssf
VAr                   n/a    int16
VAr_SF                n/a    sunssf
PF                    n/a    int16
PF_SF                 n/a    sunssf
WH            75438296.00    acc32
WH_SF                   0    sunssf
DCA                   n/a    uint16
DCA_SF                n/a    sunssf
DCV                   n/a    uint16
DCV_SF                n/a
`,
  'fronius-smart-meter-float': `evcc sunspec 192.168.2.153:502 -i 201
[main  ] INFO 2025/03/19 16:55:02 evcc 0.200.9
--------- Model 1 common ---------
Mn            Fronius    string
Md   Smart Meter TS 6    string
Opt          PV alt H    string
Vr                1.4    string
SN         3682862508    string
DA             201.00    uint16
Pad            0x00d5    pad
--------- Model 213 ac_meter ---------
A                           -8.42    float32
AphA                        -0.94    float32
AphB                       -3.363    float32
AphC                       -4.117    float32
PhV                     233.26666    float32
PhVphA                      234.3    float32
PhVphB                      230.7    float32
PhVphC                      234.8    float32
PPV                           404    float32
PPVphAB                     402.7    float32
PPVphBC                     403.1    float32
PPVphCA                     406.2    float32
Hz                           49.9    float3
`,
} as const;

export type SunSpecRecording = keyof typeof SUNSPEC_RECORDINGS;
